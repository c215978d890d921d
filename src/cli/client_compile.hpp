// The client engine of `trajc compile`: the compile run in the tool's own
// process, for databases without the trajc extension (hosted Supabase, RDS,
// Cloud SQL, Neon). Reads sessions over libpq with the core's queries, runs
// the core's BatchRunner (the same object the extension drives), and writes
// trajc.compile_log / trajc.qa_pairs one transaction per session, under the
// same advisory-lock claims and hash-skip as the extension.
//
// Must never: hold compile logic of its own (prompt, parsing, validation,
// cost are the core's), take a key from the command line, or keep a claim
// past its session's commit.
#pragma once

#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "compile_progress.hpp"
#include "pg.hpp"

namespace trajc_cli {

struct CompileReport {
  std::vector<SessionResult> results;
  std::size_t planned = 0;
  bool interrupted = false;
};

// The model and call options only the client engine reads (the extension
// reads them from its settings): --model, --key-file, --base-url, ...
std::vector<OptionSpec> client_compile_options();

// Compiles as `trajc compile` was asked to; Ctrl-C ends it with the finished
// sessions committed (report.interrupted).
CompileReport compile_client(TrajcDb& db, const ParsedArgs& a);

}  // namespace trajc_cli
