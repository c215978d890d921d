// The near-duplicate lookups' SQL text (see pair_sql.hpp), shared by both
// engines. Must never: take a value into the text.
#include "trajc/pair_sql.hpp"

namespace trajc::pair_sql {

const char* const kExactDuplicate =
    "SELECT coalesce(duplicate_of, id)::text FROM trajc.qa_pairs"
    " WHERE question_key = $1 AND session_id <> $2 ORDER BY created_at, id LIMIT 1";
// Counted before the join, so only the few best are fetched.
const char* const kBandCandidates =
    "SELECT p.id::text, p.question_key"
    " FROM (SELECT session_id, pair_id, count(*) AS shared FROM trajc.qa_pair_bands"
    "        WHERE band_key = ANY($1::bigint[]) GROUP BY session_id, pair_id ORDER BY shared DESC LIMIT 32) b"
    " JOIN trajc.qa_pairs p ON p.session_id = b.session_id AND p.id = b.pair_id"
    " WHERE p.session_id <> $2 ORDER BY b.shared DESC, p.created_at, p.id LIMIT 16";
const char* const kInsertBands =
    "INSERT INTO trajc.qa_pair_bands (band_key, pair_id, session_id)"
    " SELECT unnest($1::bigint[]), $2::uuid, $3 ON CONFLICT DO NOTHING";

std::string band_keys_literal(const QuestionFingerprint& f) {
  std::string out = "{";
  for (std::size_t i = 0; i < f.bands.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(f.bands[i]);
  }
  return out + "}";
}

}  // namespace trajc::pair_sql
