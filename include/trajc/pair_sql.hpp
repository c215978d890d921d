// The cross-session near-duplicate lookups and the band-key insert as SQL
// text: the one definition the extension's store (src/pg/store.cpp, over
// SPI) and the companion tool's client engine (src/cli/client_compile.cpp,
// over libpq) run, so both mark duplicate_of alike. Parameters are typed in
// the text, so a prepared plan and a client sending text values agree.
//
// Must never: splice a value into the text (values are the $n parameters),
// or decide which candidate is a duplicate (most_similar in dedup.hpp does).
#pragma once
#include "trajc/core_guard.hpp"

#include <string>

#include "trajc/dedup.hpp"

namespace trajc::pair_sql {

// $1 question_key, $2 session_id: the earliest pair of another session with
// the same key (qa_pairs_question_key_idx), or the original it repeats, so
// duplicate_of always names an original. One row (id as text) or none.
extern const char* const kExactDuplicate;
// $1 band keys (bigint[]), $2 session_id: pairs of other sessions sharing a
// band key (qa_pair_bands' primary key, an index-only scan), most shared
// bands first, as (id text, question_key): the few worth an exact similarity.
extern const char* const kBandCandidates;
// $1 band keys (bigint[]), $2 pair id (uuid), $3 session_id: an original
// pair's band keys, so later near-duplicates find it.
extern const char* const kInsertBands;

// A fingerprint's band keys as an array literal, "{k1,...,k16}", for a
// client that sends parameters as text.
std::string band_keys_literal(const QuestionFingerprint& f);

}  // namespace trajc::pair_sql
