// `trajc export --to-postgres`: the pairs mirrored into a plain qa_pairs table
// of another database, whose schema migrations/postgres keeps. Must never
// change a pair the mirror already has, nor commit part of a run.
#pragma once

#include <string>

#include "pairs.hpp"

namespace trajc_cli {

class TrajcDb;
class InterruptScope;

struct MirrorCounts {
  long read = 0, written = 0, total = 0;
};

// Copies the pairs `f` selects from `source` into the database `target_dsn`,
// adding the ones it lacks, in one transaction on each side.
MirrorCounts mirror_to_postgres(TrajcDb& source, const std::string& target_dsn,
                                const PairFilter& f, InterruptScope& interrupt_scope);

}  // namespace trajc_cli
