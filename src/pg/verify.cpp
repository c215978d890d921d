// trajc_verify(session_id, tier): re-checks stored pairs with the model
// verifier (trajc.verify_tier / trajc.verify_model, or the tier argument)
// and fills their verified_by.
//
// Phase 1 lists the pairs (one session, or all) by session; the loop then
// alternates like a compile run: load a session's trajectory from the audit
// log with SPI, start its check in the core's Reverifier (hash and literal
// check at once, the rest in one verifier call) while slots, rate and budget
// allow, wait for replies, and for each decided session update verified_by
// and emit one row per pair. Requests go through the same engine as compiling.
//
// Must never: delete or otherwise change a pair (only verified_by), show the
// verifier more than a pair's cited turns, read a setting after phase 1, or
// call into the core outside run_cpp.
#include "audit_source.hpp"
#include "cpp_call.hpp"
#include "guc.hpp"
#include "model_choice.hpp"
#include "spi_util.hpp"
#include "stored_text.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(trajc_verify);
}

using namespace trajc_pg;

namespace {

constexpr long kWaitSliceMs = 200;

bool cancel_requested() { return QueryCancelPending || ProcDiePending; }

// One listed pair, as database text (converted to UTF-8 when handed over).
struct ListedPair {
  char* id;
  char* session_id;
  char* trajectory_hash;  // "" when NULL
  char* question;
  char* answer;
  char* supporting_turns;  // jsonb as text
};

struct VerifyRun {
  MemoryContext cxt;
  MemoryContext scratch;  // one session's phase-1/3 garbage
  AuditSource* src;
  SPIPlanPtr turns_plan;
  SPIPlanPtr update_plan;
  ModelChoice verifier;
  ListedPair* pairs;  // ordered by session
  int npairs;
  int next;           // the first pair of the next session to start
  ReturnSetInfo* rsinfo;
  // boxed C++ state
  trajc::Reverifier* runner;
  trajc::Trajectory* trajectory;
  std::vector<trajc::StoredPair>* stored;
  std::vector<trajc::SessionVerdicts>* finished;
  // what the run did (the closing NOTICE)
  int counts[3];  // supported, unsupported, ungrounded
  int failed_sessions, skipped_pairs;
  double cost_usd;
};

char* column_text(HeapTuple row, TupleDesc desc, int n) {
  char* v = SPI_getvalue(row, desc, n);
  return v != nullptr ? v : pstrdup("");
}

void list_pairs(VerifyRun* run, const char* session_id) {
  Oid types[1] = {TEXTOID};
  Datum args[1] = {session_id ? CStringGetTextDatum(session_id) : (Datum)0};
  char nulls[1] = {session_id ? ' ' : 'n'};
  spi_check(SPI_execute_with_args(
                "SELECT id::text, session_id, trajectory_hash, question, answer, supporting_turns::text"
                "  FROM trajc.qa_pairs WHERE $1::text IS NULL OR session_id = $1"
                " ORDER BY session_id, created_at, id",
                1, types, args, nulls, true, 0),
            SPI_OK_SELECT, "listing the pairs to verify");
  run->npairs = static_cast<int>(SPI_processed);
  run->pairs = static_cast<ListedPair*>(palloc0(sizeof(ListedPair) * (SPI_processed + 1)));
  for (uint64 i = 0; i < SPI_processed; i++) {
    HeapTuple row = SPI_tuptable->vals[i];
    TupleDesc desc = SPI_tuptable->tupdesc;
    run->pairs[i] = ListedPair{column_text(row, desc, 1), column_text(row, desc, 2),
                               column_text(row, desc, 3), column_text(row, desc, 4),
                               column_text(row, desc, 5), column_text(row, desc, 6)};
  }
  SPI_freetuptable(SPI_tuptable);
  if (session_id != nullptr && run->npairs == 0)
    ereport(NOTICE, (errmsg("trajc_verify: session \"%s\" has no stored pairs", session_id)));
}

void snapshot_and_box(VerifyRun* run) {
  const ModelChoice v = run->verifier;
  const Gucs g = gucs;
  const bool redact = g.redact == kRedactPii;
  run->runner = box_new<trajc::Reverifier>(run->cxt, [&] {
    trajc::CallLimits l;
    l.timeout_ms = g.timeout_ms;
    l.max_retries = g.max_retries;
    l.concurrency = g.concurrency;
    l.max_requests_per_minute = g.max_requests_per_minute;
    l.max_cost_usd = g.max_cost_usd;
    l.max_response_bytes = static_cast<std::size_t>(g.max_response_kb) * 1024;
    trajc::ModelEndpoint e{v.provider, v.model, v.api_key != nullptr ? v.api_key : "", v.base_url,
                           trajc::Prices{v.usd_per_mtok_in, v.usd_per_mtok_out}};
    return new trajc::Reverifier(e, l, redact, cancel_requested);
  });
  run->trajectory = box_new<trajc::Trajectory>(run->cxt);
  run->stored = box_new<std::vector<trajc::StoredPair>>(run->cxt);
  run->finished = box_new<std::vector<trajc::SessionVerdicts>>(run->cxt);
}

// Phase 1 and 2 for the session starting at run->next: its trajectory from
// the audit log and its pairs, started in the Reverifier.
void start_session(VerifyRun* run) {
  const int first = run->next;
  int end = first;
  while (end < run->npairs && strcmp(run->pairs[end].session_id, run->pairs[first].session_id) == 0) end++;
  run->next = end;
  MemoryContext caller = MemoryContextSwitchTo(run->scratch);
  const char* session_id = run->pairs[first].session_id;
  SessionRows rows = load_session_rows(run->src, run->turns_plan, session_id);
  // The pairs' texts in UTF-8, for the core.
  struct CorePair {
    const char *id, *hash, *question, *answer, *turns;
  };
  CorePair* core = static_cast<CorePair*>(palloc(sizeof(CorePair) * (end - first)));
  for (int i = first; i < end; i++) {
    const ListedPair& p = run->pairs[i];
    core[i - first] = CorePair{p.id, p.trajectory_hash, to_core_text(p.question), to_core_text(p.answer),
                               p.supporting_turns};
  }
  const char* core_id = to_core_text(session_id);
  trajc::Trajectory* t = run->trajectory;
  std::vector<trajc::StoredPair>* stored = run->stored;
  trajc::Reverifier* runner = run->runner;
  const int n = end - first;
  run_cpp([&] {
    trajc::to_trajectory(rows.rows, core_id, *t);
    stored->clear();
    for (int i = 0; i < n; i++) {
      trajc::StoredPair sp;
      sp.pair_id = core[i].id;
      sp.trajectory_hash = core[i].hash;
      sp.pair.question = core[i].question;
      sp.pair.answer = core[i].answer;
      // Stored by the compile as a JSON array of turn numbers.
      const nlohmann::json turns = nlohmann::json::parse(core[i].turns, nullptr, false);
      if (turns.is_array())
        for (const auto& turn : turns)
          if (turn.is_number_integer()) sp.pair.supporting_turns.push_back(turn.get<int>());
      stored->push_back(std::move(sp));
    }
    runner->start(*t, std::move(*stored));
    stored->clear();
  });
  SPI_freetuptable(rows.tuples);
  MemoryContextSwitchTo(caller);
  MemoryContextReset(run->scratch);
}

// Starts sessions while the engine admits them; over budget with nothing in
// flight, the rest are left unverified (a WARNING says how many).
void start_what_fits(VerifyRun* run) {
  using Admission = trajc::ModelCalls::Admission;
  trajc::Reverifier* runner = run->runner;
  while (run->next < run->npairs) {
    Admission admission = Admission::Wait;
    std::size_t active = 0;
    run_cpp([&] {
      admission = runner->admit();
      active = runner->active();
    });
    if (admission == Admission::Wait || (admission == Admission::OverBudget && active > 0)) return;
    if (admission == Admission::OverBudget) {
      run->skipped_pairs += run->npairs - run->next;
      run->next = run->npairs;
      return;
    }
    start_session(run);
  }
}

int verdict_index(const std::string& verdict) {
  if (verdict == trajc::kSupported) return 0;
  return verdict == trajc::reject::kUnsupported ? 1 : 2;
}

// Phase 3 for one pair: verified_by (the verifier's model when supported,
// NULL otherwise: it is no longer verified) and the result row.
void store_verdict(VerifyRun* run, const char* session_id, const trajc::PairVerdict& v) {
  const bool supported = v.verdict == trajc::kSupported;
  Datum id = DirectFunctionCall1(uuid_in, CStringGetDatum(v.pair_id.c_str()));
  Datum args[3] = {id, CStringGetTextDatum(session_id),
                   supported ? CStringGetTextDatum(run->verifier.model) : (Datum)0};
  char nulls[3] = {' ', ' ', supported ? ' ' : 'n'};
  spi_execute(run->update_plan, args, nulls, false, SPI_OK_UPDATE, "updating verified_by");
  Datum values[3] = {id, from_core_text(v.verdict), from_core_text(v.reason, kMaxErrorBytes)};
  bool row_nulls[3] = {false, false, v.reason.empty()};
  tuplestore_putvalues(run->rsinfo->setResult, run->rsinfo->setDesc, values, row_nulls);
  run->counts[verdict_index(v.verdict)]++;
}

void store_what_finished(VerifyRun* run) {
  trajc::Reverifier* runner = run->runner;
  std::vector<trajc::SessionVerdicts>* finished = run->finished;
  run_cpp([&] { *finished = runner->wait(kWaitSliceMs); });
  CHECK_FOR_INTERRUPTS();
  for (const trajc::SessionVerdicts& s : *finished) {
    MemoryContext caller = MemoryContextSwitchTo(run->scratch);
    run->cost_usd += s.cost_usd;
    char* session_id = from_core_cstring(s.session_id);
    if (!s.error.empty()) {
      run->failed_sessions++;
      ereport(WARNING, (errmsg("trajc_verify: verifying session \"%s\" failed: %s", session_id,
                               from_core_cstring(s.error, kMaxErrorBytes))));
    }
    for (const trajc::PairVerdict& v : s.verdicts) store_verdict(run, session_id, v);
    MemoryContextSwitchTo(caller);
    MemoryContextReset(run->scratch);
  }
  run_cpp([&] { finished->clear(); });
}

bool all_done(VerifyRun* run) {
  std::size_t active = 0;
  trajc::Reverifier* runner = run->runner;
  run_cpp([&] { active = runner->active(); });
  return active == 0 && run->next >= run->npairs;
}

}  // namespace

// trajc_verify(session_id, tier): one row per pair decided.
extern "C" Datum trajc_verify(PG_FUNCTION_ARGS) {
  // Phase 1: arguments, the verifier's model, the audit source, the pairs.
  const char* session_id = PG_ARGISNULL(0) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(0));
  const char* tier = PG_ARGISNULL(1) ? gucs.verify_tier : text_to_cstring(PG_GETARG_TEXT_PP(1));
  const trajc::Provider provider = static_cast<trajc::Provider>(gucs.provider);
  if (provider == trajc::Provider::Offline)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("the verifier needs a model, but trajc.provider is offline"),
                    errhint("SET trajc.provider to the verifier's provider (and trajc.verify_model or"
                            " trajc.verify_tier).")));
  InitMaterializedSRF(fcinfo, 0);
  VerifyRun* run = static_cast<VerifyRun*>(palloc0(sizeof(VerifyRun)));
  run->rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  run->cxt = AllocSetContextCreate(CurrentMemoryContext, "trajc verify", ALLOCSET_DEFAULT_SIZES);
  run->scratch = AllocSetContextCreate(run->cxt, "trajc verify session", ALLOCSET_DEFAULT_SIZES);
  spi_connect();
  MemoryContext spi_cxt = MemoryContextSwitchTo(run->cxt);
  run->verifier = choose_model_for(provider, gucs.verify_model, tier, true);
  run->src = resolve_audit_source();
  run->turns_plan = spi_prepare(turns_query(run->src, true), TEXTOID);
  run->update_plan = spi_prepare(
      "UPDATE trajc.qa_pairs SET verified_by = $3 WHERE id = $1 AND session_id = $2", UUIDOID,
      TEXTOID, TEXTOID);
  list_pairs(run, session_id);
  snapshot_and_box(run);
  MemoryContextSwitchTo(spi_cxt);
  // Phases 2 and 3, session by session.
  for (;;) {
    start_what_fits(run);
    if (all_done(run)) break;
    store_what_finished(run);
  }
  if (run->skipped_pairs > 0)
    ereport(WARNING, (errmsg("trajc_verify: %d pairs not verified: trajc.max_cost_usd reached",
                             run->skipped_pairs)));
  ereport(NOTICE, (errmsg("trajc_verify: %d supported, %d unsupported, %d ungrounded; %d sessions"
                          " failed; verifier cost $%.6f",
                          run->counts[0], run->counts[1], run->counts[2], run->failed_sessions,
                          run->cost_usd)));
  SPI_finish();
  MemoryContextDelete(run->cxt);  // deletes the runner: closes connections now
  return (Datum)0;
}
