// SQL access to the core's question fingerprints: trajc.question_key(),
// trajc.question_bands() and trajc.question_similarity(). The store uses the
// same core functions when it marks duplicates; these let the upgrade
// script fill pairs stored before 0.2.0 and let benchmarks and reports
// compute keys in SQL.
//
// Must never: compute a key differently from the store (one core function
// each), or hold a C++ object across a Postgres call (results live in boxes).
#include "cpp_call.hpp"
#include "stored_text.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(trajc_question_key);
PG_FUNCTION_INFO_V1(trajc_question_bands);
PG_FUNCTION_INFO_V1(trajc_question_similarity);
}

using namespace trajc_pg;

namespace {

// An argument as UTF-8 for the core (converted from the database encoding).
std::string_view core_arg(text* t) {
  int len = 0;
  const char* utf8 = to_core_text(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &len);
  return std::string_view(utf8, static_cast<std::size_t>(len));
}

}  // namespace

extern "C" Datum trajc_question_key(PG_FUNCTION_ARGS) {
  const std::string_view question = core_arg(PG_GETARG_TEXT_PP(0));
  std::string* key = box_new<std::string>(CurrentMemoryContext);
  run_cpp([&] { *key = trajc::question_key(question); });
  PG_RETURN_DATUM(from_core_text(*key));
}

extern "C" Datum trajc_question_bands(PG_FUNCTION_ARGS) {
  const std::string_view question = core_arg(PG_GETARG_TEXT_PP(0));
  int64 bands[trajc::dedup::kBands];
  run_cpp([&] {
    const trajc::QuestionFingerprint f = trajc::fingerprint(question);
    std::copy(f.bands.begin(), f.bands.end(), bands);
  });
  Datum keys[trajc::dedup::kBands];
  for (int i = 0; i < trajc::dedup::kBands; i++) keys[i] = Int64GetDatum(bands[i]);
  PG_RETURN_ARRAYTYPE_P(
      construct_array(keys, trajc::dedup::kBands, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

extern "C" Datum trajc_question_similarity(PG_FUNCTION_ARGS) {
  const std::string_view a = core_arg(PG_GETARG_TEXT_PP(0));
  const std::string_view b = core_arg(PG_GETARG_TEXT_PP(1));
  double similarity = 0;
  run_cpp([&] { similarity = trajc::question_similarity(a, b); });
  PG_RETURN_FLOAT4(static_cast<float4>(similarity));
}
