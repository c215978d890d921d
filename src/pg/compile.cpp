// trajc_compile(), trajc_compile_batch(), CALL trajc_compile_pending() and
// trajc_estimate(): one driver loop for all of them.
//
// The loop alternates the three phases: load a trajectory with SPI (phase 1),
// hand it to the core's BatchRunner and drive the transfers (phase 2), store
// what finished, each session in its own subtransaction (phase 3). Requests
// stay in flight across phases; the runner lives in a box owned by the run's
// memory context, so an error or a cancel frees it.
#include "audit_source.hpp"
#include "claims.hpp"
#include "cpp_call.hpp"
#include "guc.hpp"
#include "model_choice.hpp"
#include "spi_util.hpp"
#include "store.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(trajc_compile);
PG_FUNCTION_INFO_V1(trajc_compile_batch);
PG_FUNCTION_INFO_V1(trajc_compile_pending);
PG_FUNCTION_INFO_V1(trajc_estimate);
}

using namespace trajc_pg;

namespace {

// The core polls this between transfers: plain flag reads, never raising.
bool cancel_requested() { return QueryCancelPending || ProcDiePending; }

enum class Mode { Single, Batch, Pending, Estimate };

// Everything one run needs, as plain data in a context that survives the
// commits of the procedure form.
struct Run {
  Mode mode;
  MemoryContext cxt;
  MemoryContext scratch;  // one session's phase-1/3 garbage, reset after each
  AuditSource* src;
  ModelChoice model;
  bool force;
  bool commit_each;  // CALL outside a transaction block
  char** sessions;
  int nsessions;
  Claims claims;
  SPIPlanPtr turns_plan;
  Store* store;
  // boxed C++ state
  trajc::CompileSettings* settings;
  trajc::BatchRunner* runner;
  trajc::Trajectory* next;  // loaded, waiting for a free slot
  trajc::Estimate* next_estimate;
  bool has_next;
  std::vector<trajc::CompileOutcome>* finished;
  // where results go
  ReturnSetInfo* rsinfo;
  int n_ok, n_empty, n_failed, n_skipped, n_pairs;
  double cost;
  // where the time goes (DEBUG1 at the end of a run; see bench/compile.sh)
  instr_time t_extract, t_render, t_compile, t_store;
};

// Adds the time since `start` to `total`.
void add_elapsed(instr_time* total, instr_time start) {
  instr_time now;
  INSTR_TIME_SET_CURRENT(now);
  INSTR_TIME_ACCUM_DIFF(*total, now, start);
}

instr_time clock_now() {
  instr_time t;
  INSTR_TIME_SET_CURRENT(t);
  return t;
}

Datum numeric_from(double v) { return DirectFunctionCall1(float8_numeric, Float8GetDatum(v)); }

void emit_result(Run* run, const SessionResult& r) {
  switch (r.status) {
    case trajc::Status::Ok: run->n_ok++; break;
    case trajc::Status::Empty: run->n_empty++; break;
    case trajc::Status::Failed: run->n_failed++; break;
    case trajc::Status::Skipped: run->n_skipped++; break;
  }
  run->n_pairs += r.pairs;
  run->cost += r.cost_usd;
  if (run->mode == Mode::Single && r.status == trajc::Status::Failed)
    ereport(WARNING, (errmsg("trajc: compiling session \"%s\" failed: %s", r.session_id, r.error)));
  if (run->mode == Mode::Single && r.status == trajc::Status::Skipped)
    ereport(NOTICE, (errmsg("trajc: session \"%s\" skipped: %s", r.session_id, r.error)));
  ListCell* cell;
  foreach (cell, r.rows)
    tuplestore_puttuple(run->rsinfo->setResult, static_cast<HeapTuple>(lfirst(cell)));
  if (run->mode != Mode::Batch) return;
  Datum values[6] = {CStringGetTextDatum(r.session_id),
                     CStringGetTextDatum(trajc::status_name(r.status)), Int32GetDatum(r.pairs),
                     Int32GetDatum(r.rejected), numeric_from(r.cost_usd),
                     r.error ? CStringGetTextDatum(r.error) : (Datum)0};
  bool nulls[6] = {false, false, false, false, false, r.error == nullptr};
  tuplestore_putvalues(run->rsinfo->setResult, run->rsinfo->setDesc, values, nulls);
}

void log_skip(Run* run, const char* session_id, const char* hash, const char* why) {
  emit_result(run, trajc_pg::log_skip(run->store, session_id, hash, why));
}

void commit_if_procedure(Run* run) {
  if (!run->commit_each) return;
  SPI_commit();
  SPI_start_transaction();
}

// Phase 1+2 for the next candidate: claim, load, hash, skip if unchanged.
// Returns true when run->next holds a trajectory ready to start.
bool load_session(Run* run, const char* session_id) {
  if (run->mode != Mode::Estimate && !claim(&run->claims, session_id)) {
    log_skip(run, session_id, nullptr, "being compiled by another run");
    return false;
  }
  instr_time t0 = clock_now();
  SessionRows raw = load_session_rows(run->src, run->turns_plan, session_id);
  add_elapsed(&run->t_extract, t0);
  t0 = clock_now();
  char hash[17] = {0};
  trajc::Trajectory* next = run->next;
  run_cpp([&] {
    trajc::to_trajectory(raw.rows, session_id, *next);
    std::strncpy(hash, trajc::trajectory_hash(*next).c_str(), sizeof hash - 1);
  });
  SPI_freetuptable(raw.tuples);
  add_elapsed(&run->t_render, t0);
  if (raw.rows.nturns == 0) {
    release_claim(&run->claims, session_id);
    if (run->mode == Mode::Single)
      ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND),
                      errmsg("session \"%s\" has no turns in the audit log", session_id),
                      errhint("trajc_extract() lists the sessions of trajc.source.")));
    // Listed, then deleted (retention) before its turn came: nothing to compile.
    if (run->mode != Mode::Estimate) log_skip(run, session_id, nullptr, "no longer in the audit log");
    return false;
  }
  if (!run->force && run->mode != Mode::Estimate) {
    if (compiled_before(run->store, session_id, hash)) {
      log_skip(run, session_id, hash, "unchanged since its last successful compile");
      release_claim(&run->claims, session_id);
      return false;
    }
  }
  run_cpp([&] { *run->next_estimate = trajc::estimate_compile(*next, *run->settings); });
  return true;
}

}  // namespace

namespace {

// Per-session work allocates in run->scratch, reset afterwards: a batch of
// thousands of sessions must not keep every session's rows and datums.
bool load_next(Run* run, const char* session_id) {
  MemoryContext caller = MemoryContextSwitchTo(run->scratch);
  bool ready = load_session(run, session_id);
  MemoryContextSwitchTo(caller);
  MemoryContextReset(run->scratch);
  return ready;
}

void store_and_commit(Run* run, const trajc::CompileOutcome& outcome) {
  MemoryContext caller = MemoryContextSwitchTo(run->scratch);
  emit_result(run, store_outcome(run->store, outcome, run->mode == Mode::Single));
  commit_if_procedure(run);
  release_claim(&run->claims, outcome.session_id.c_str());
  MemoryContextSwitchTo(caller);
  MemoryContextReset(run->scratch);
}

void skip_rest(Run* run, int from, const char* why) {
  MemoryContext caller = MemoryContextSwitchTo(run->scratch);
  for (int i = from; i < run->nsessions; i++) {
    log_skip(run, run->sessions[i], nullptr, why);
    commit_if_procedure(run);
    MemoryContextSwitchTo(run->scratch);
    MemoryContextReset(run->scratch);
  }
  MemoryContextSwitchTo(caller);
}

// Starts every candidate it can, drives the transfers, stores what finishes.
void drive(Run* run) {
  using Admission = trajc::BatchRunner::Admission;
  const char* over_budget = "not started: trajc.max_cost_usd reached";
  int next_index = 0;
  for (;;) {
    while (run->has_next || next_index < run->nsessions) {
      if (!run->has_next) {
        run->has_next = load_next(run, run->sessions[next_index++]);
        if (!run->has_next) {
          commit_if_procedure(run);
          continue;
        }
      }
      Admission admission = Admission::Wait;
      std::size_t in_flight = 0;
      run_cpp([&] {
        admission = run->runner->admit(*run->next_estimate);
        in_flight = run->runner->active();
      });
      // Over budget while requests are in flight: they may cost less than
      // estimated, so decide once they are back.
      if (admission == Admission::Wait || (admission == Admission::OverBudget && in_flight > 0))
        break;
      run->has_next = false;
      if (admission == Admission::OverBudget) {
        const char* session = pstrdup(run->next->session_id.c_str());
        log_skip(run, session, nullptr, over_budget);
        commit_if_procedure(run);
        release_claim(&run->claims, session);
        skip_rest(run, next_index, over_budget);
        next_index = run->nsessions;
        break;
      }
      instr_time t0 = clock_now();
      run_cpp([&] { run->runner->start(*run->next, *run->next_estimate); });
      add_elapsed(&run->t_compile, t0);
    }
    std::size_t active = 0;
    run_cpp([&] { active = run->runner->active(); });
    if (active == 0 && !run->has_next && next_index >= run->nsessions) return;
    instr_time t0 = clock_now();
    run_cpp([&] { *run->finished = run->runner->wait(200); });
    add_elapsed(&run->t_compile, t0);
    CHECK_FOR_INTERRUPTS();
    t0 = clock_now();
    for (const trajc::CompileOutcome& outcome : *run->finished) store_and_commit(run, outcome);
    add_elapsed(&run->t_store, t0);
    run->finished->clear();
  }
}

char** list_sessions(Run* run, int min_turns, int limit) {
  check_listing_args(min_turns, limit);
  Oid types[3] = {INT4OID, INT4OID, TIMESTAMPTZOID};
  Datum args[3] = {Int32GetDatum(min_turns), Int32GetDatum(limit), (Datum)0};
  char nulls[3] = {' ', ' ', 'n'};
  spi_check(SPI_execute_with_args(sessions_query(run->src), 3, types, args, nulls, true, 0),
            SPI_OK_SELECT, "listing sessions");
  run->nsessions = static_cast<int>(SPI_processed);
  char** ids = static_cast<char**>(MemoryContextAlloc(run->cxt, sizeof(char*) * (SPI_processed + 1)));
  for (uint64 i = 0; i < SPI_processed; i++)
    ids[i] = MemoryContextStrdup(run->cxt, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
  SPI_freetuptable(SPI_tuptable);
  return ids;
}

SPIPlanPtr keep(Run* run, SPIPlanPtr plan) {
  if (run->commit_each) SPI_keepplan(plan);  // survives the procedure's commits
  return plan;
}

// Phase 1 for every mode: settings, audit source, plans, boxed core objects.
Run* begin_run(Mode mode, const char* tier, bool force, bool commit_each) {
  MemoryContext parent = commit_each ? PortalContext : CurrentMemoryContext;
  MemoryContext cxt = AllocSetContextCreate(parent, "trajc run", ALLOCSET_DEFAULT_SIZES);
  Run* run = static_cast<Run*>(MemoryContextAllocZero(cxt, sizeof(Run)));
  run->mode = mode;
  run->cxt = cxt;
  run->scratch = AllocSetContextCreate(cxt, "trajc session", ALLOCSET_DEFAULT_SIZES);
  run->force = force;
  run->commit_each = commit_each;
  spi_connect(commit_each);
  MemoryContext spi_cxt = MemoryContextSwitchTo(cxt);

  run->model = choose_model(tier, mode != Mode::Estimate);
  run->src = resolve_audit_source();
  run->turns_plan = keep(run, spi_prepare(turns_query(run->src, true), TEXTOID));
  run->store = open_store(cxt, &run->model, commit_each);
  claims_init(&run->claims, commit_each);

  // Snapshot of every setting the core needs, as plain values.
  const ModelChoice m = run->model;
  const Gucs g = gucs;
  run->settings = box_new<trajc::CompileSettings>(cxt);
  trajc::CompileSettings* s = run->settings;
  run_cpp([&] {
    s->provider = m.provider;
    s->model = m.model;
    s->api_key = m.api_key != nullptr ? m.api_key : "";
    s->base_url = m.base_url;
    s->prices = trajc::Prices{m.usd_per_mtok_in, m.usd_per_mtok_out};
    s->timeout_ms = g.timeout_ms;
    s->max_retries = g.max_retries;
    s->concurrency = mode == Mode::Single ? 1 : g.concurrency;
    s->max_requests_per_minute = g.max_requests_per_minute;
    s->max_cost_usd = g.max_cost_usd;
    s->prompt.budget_chars = static_cast<std::size_t>(g.prompt_budget_chars);
    s->prompt.max_value_chars = static_cast<std::size_t>(g.max_value_chars);
    s->max_response_bytes = static_cast<std::size_t>(g.max_response_kb) * 1024;
  });
  run->runner = box_new<trajc::BatchRunner>(
      cxt, [&] { return new trajc::BatchRunner(*s, cancel_requested); });
  run->next = box_new<trajc::Trajectory>(cxt);
  run->next_estimate = box_new<trajc::Estimate>(cxt);
  run->finished = box_new<std::vector<trajc::CompileOutcome>>(cxt);
  MemoryContextSwitchTo(spi_cxt);
  return run;
}

void end_run(Run* run) {
  ereport(DEBUG1,
          (errmsg("trajc run timing: extract %.3f ms, render %.3f ms, compile %.3f ms,"
                  " store %.3f ms over %d sessions",
                  INSTR_TIME_GET_MILLISEC(run->t_extract), INSTR_TIME_GET_MILLISEC(run->t_render),
                  INSTR_TIME_GET_MILLISEC(run->t_compile), INSTR_TIME_GET_MILLISEC(run->t_store),
                  run->nsessions)));
  if (run->commit_each) {
    SPI_freeplan(run->turns_plan);
    close_store(run->store);
  }
  SPI_finish();
  MemoryContextDelete(run->cxt);  // deletes the runner: closes connections now
}

// drive() with claims released on any error (they outlive transactions).
void drive_guarded(Run* run) {
  PG_TRY();
  { drive(run); }
  PG_CATCH();
  {
    release_all_claims(&run->claims);
    PG_RE_THROW();
  }
  PG_END_TRY();
}

const char* text_arg_or_null(FunctionCallInfo fcinfo, int n) {
  return PG_ARGISNULL(n) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

}  // namespace

extern "C" Datum trajc_compile(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("session_id must not be NULL")));
  InitMaterializedSRF(fcinfo, 0);
  char* session_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
  bool force = PG_ARGISNULL(2) || PG_GETARG_BOOL(2);
  Run* run = begin_run(Mode::Single, text_arg_or_null(fcinfo, 1), force, false);
  run->rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  run->sessions = &session_id;
  run->nsessions = 1;
  drive_guarded(run);
  end_run(run);
  return (Datum)0;
}

extern "C" Datum trajc_compile_batch(PG_FUNCTION_ARGS) {
  InitMaterializedSRF(fcinfo, 0);
  Run* run = begin_run(Mode::Batch, text_arg_or_null(fcinfo, 2),
                       !PG_ARGISNULL(3) && PG_GETARG_BOOL(3), false);
  run->rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  run->sessions = list_sessions(run, PG_ARGISNULL(0) ? 10 : PG_GETARG_INT32(0),
                                PG_ARGISNULL(1) ? 25 : PG_GETARG_INT32(1));
  drive_guarded(run);
  end_run(run);
  return (Datum)0;
}

// The batch as a procedure: commits after each session when called with CALL
// outside a transaction block (pg_cron, long runs), so a cancel or a crash
// keeps every finished session; inside a transaction block it behaves like
// the batch.
extern "C" Datum trajc_compile_pending(PG_FUNCTION_ARGS) {
  bool nonatomic = fcinfo->context != nullptr && IsA(fcinfo->context, CallContext) &&
                   !castNode(CallContext, fcinfo->context)->atomic;
  Run* run = begin_run(Mode::Pending, text_arg_or_null(fcinfo, 2), false, nonatomic);
  run->sessions = list_sessions(run, PG_ARGISNULL(0) ? 10 : PG_GETARG_INT32(0),
                                PG_ARGISNULL(1) ? 25 : PG_GETARG_INT32(1));
  commit_if_procedure(run);
  drive_guarded(run);
  ereport(NOTICE, (errmsg("trajc_compile_pending: %d ok, %d empty, %d failed, %d skipped;"
                          " %d pairs, $%.6f",
                          run->n_ok, run->n_empty, run->n_failed, run->n_skipped, run->n_pairs,
                          run->cost)));
  end_run(run);
  PG_RETURN_VOID();
}

extern "C" Datum trajc_estimate(PG_FUNCTION_ARGS) {
  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  Run* run = begin_run(Mode::Estimate, text_arg_or_null(fcinfo, 2), true, false);
  run->sessions = list_sessions(run, PG_ARGISNULL(0) ? 10 : PG_GETARG_INT32(0),
                                PG_ARGISNULL(1) ? 25 : PG_GETARG_INT32(1));
  int64 tokens = 0;
  double cost = 0;
  for (int i = 0; i < run->nsessions; i++) {
    if (!load_next(run, run->sessions[i])) continue;
    tokens += run->next_estimate->tokens_in;
    cost += run->next_estimate->cost_usd;
  }
  Datum values[3] = {Int32GetDatum(run->nsessions), Int64GetDatum(tokens), numeric_from(cost)};
  bool nulls[3] = {false, false, false};
  tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  end_run(run);
  return (Datum)0;
}
