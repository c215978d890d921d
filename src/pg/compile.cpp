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
  SPIPlanPtr turns_plan, compiled_plan, log_plan, pair_plan;
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

constexpr int kLogArgs = 17;
const char* const kLogInsert =
    "INSERT INTO trajc.compile_log (session_id, trajectory_hash, provider, model, status,"
    " turn_count, pairs_kept, pairs_rejected, rejected_reasons, tokens_in, tokens_out, cost_usd,"
    " http_status, attempts, started_at, error, finished_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, 0), coalesce($8, 0),"
    " coalesce($9::jsonb, '{}'), coalesce($10, 0), coalesce($11, 0), coalesce($12::numeric, 0),"
    " $13, coalesce($14, 0), coalesce(pg_catalog.to_timestamp($15 / 1000.0), now()), $16,"
    " coalesce(pg_catalog.to_timestamp($17 / 1000.0), pg_catalog.clock_timestamp()))"
    " RETURNING id";
Oid kLogTypes[kLogArgs] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID,
                           INT4OID, TEXTOID, INT8OID, INT8OID, FLOAT8OID, INT4OID, INT4OID,
                           INT8OID, TEXTOID, INT8OID};

const char* const kPairInsert =
    "INSERT INTO trajc.qa_pairs (session_id, agent, turn_count, question, answer,"
    " supporting_turns, qa_type, source_model, cost_usd, raw_extraction, trajectory_hash,"
    " compile_id) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9::numeric, $10::jsonb, $11, $12)"
    " RETURNING *";
Oid kPairTypes[12] = {TEXTOID, TEXTOID, INT4OID, TEXTOID, TEXTOID, TEXTOID,
                      TEXTOID, TEXTOID, FLOAT8OID, TEXTOID, TEXTOID, INT8OID};

const char* const kCompiledCheck =
    "SELECT 1 FROM trajc.compile_log WHERE session_id = $1 AND trajectory_hash = $2"
    " AND status = 'ok' LIMIT 1";

Datum numeric_from(double v) { return DirectFunctionCall1(float8_numeric, Float8GetDatum(v)); }

Datum text_from(const std::string& s) {
  return PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size())));
}

void emit_result(Run* run, const char* session_id, const char* status, int pairs, int rejected,
                 double cost, const char* error) {
  switch (*status) {
    case 'o': run->n_ok++; break;
    case 'e': run->n_empty++; break;
    case 'f': run->n_failed++; break;
    default: run->n_skipped++; break;
  }
  run->n_pairs += pairs;
  run->cost += cost;
  if (run->mode == Mode::Single && *status == 'f')
    ereport(WARNING, (errmsg("trajc: compiling session \"%s\" failed: %s", session_id, error)));
  if (run->mode == Mode::Single && *status == 's')
    ereport(NOTICE, (errmsg("trajc: session \"%s\" skipped: %s", session_id, error)));
  if (run->mode != Mode::Batch) return;
  Datum values[6] = {CStringGetTextDatum(session_id), CStringGetTextDatum(status),
                     Int32GetDatum(pairs), Int32GetDatum(rejected), numeric_from(cost),
                     error ? CStringGetTextDatum(error) : (Datum)0};
  bool nulls[6] = {false, false, false, false, false, error == nullptr};
  tuplestore_putvalues(run->rsinfo->setResult, run->rsinfo->setDesc, values, nulls);
}

// A skipped session is logged too, so every run can be audited from compile_log.
void log_skip(Run* run, const char* session_id, const char* hash, const char* why) {
  Datum args[kLogArgs];
  char nulls[kLogArgs];
  memset(nulls, 'n', sizeof nulls);
  args[0] = CStringGetTextDatum(session_id), nulls[0] = ' ';
  if (hash) args[1] = CStringGetTextDatum(hash), nulls[1] = ' ';
  args[2] = CStringGetTextDatum(run->model.provider_name), nulls[2] = ' ';
  args[3] = CStringGetTextDatum(run->model.model), nulls[3] = ' ';
  args[4] = CStringGetTextDatum("skipped"), nulls[4] = ' ';
  args[15] = CStringGetTextDatum(why), nulls[15] = ' ';
  spi_execute(run->log_plan, args, nulls, false, SPI_OK_INSERT_RETURNING,
              "logging a skipped session");
  SPI_freetuptable(SPI_tuptable);
  emit_result(run, session_id, "skipped", 0, 0, 0, why);
}

int rejected_count(const trajc::CompileOutcome& o) {
  int n = 0;
  for (const auto& reason : o.rejected) n += reason.second;
  return n;
}

// Phase 3 for one finished session: compile_log row, then its pairs, whose
// rows are appended to *inserted (copies) for trajc_compile to return once
// they are sure to stay. With a `failure`, the session is logged as failed
// (tokens and cost kept) and no pair is stored.
void insert_outcome(Run* run, const trajc::CompileOutcome& o, List** inserted,
                    const char* failure = nullptr) {
  StringInfoData reasons;
  initStringInfo(&reasons);
  appendStringInfoChar(&reasons, '{');
  bool first = true;
  for (const auto& [reason, count] : o.rejected) {
    if (!first) appendStringInfoString(&reasons, ", ");
    first = false;
    escape_json(&reasons, reason.c_str());
    appendStringInfo(&reasons, ": %d", count);
  }
  appendStringInfoChar(&reasons, '}');

  Datum args[kLogArgs];
  char nulls[kLogArgs];
  memset(nulls, ' ', sizeof nulls);
  args[0] = text_from(o.session_id);
  args[1] = text_from(o.trajectory_hash);
  args[2] = CStringGetTextDatum(run->model.provider_name);
  args[3] = CStringGetTextDatum(run->model.model);
  args[4] = CStringGetTextDatum(trajc::status_name(failure ? trajc::Status::Failed : o.status));
  args[5] = Int32GetDatum(o.turn_count);
  args[6] = Int32GetDatum(failure ? 0 : static_cast<int>(o.pairs.size()));
  args[7] = Int32GetDatum(rejected_count(o));
  args[8] = CStringGetTextDatum(reasons.data);
  args[9] = Int64GetDatum(o.tokens_in);
  args[10] = Int64GetDatum(o.tokens_out);
  args[11] = Float8GetDatum(o.cost_usd);
  args[12] = Int32GetDatum(o.http_status);
  nulls[12] = o.http_status == 0 ? 'n' : ' ';
  args[13] = Int32GetDatum(o.attempts);
  args[14] = Int64GetDatum(o.started_unix_ms);
  args[15] = failure ? CStringGetTextDatum(failure) : text_from(o.error);
  nulls[15] = failure == nullptr && o.error.empty() ? 'n' : ' ';
  args[16] = Int64GetDatum(o.finished_unix_ms);
  spi_execute(run->log_plan, args, nulls, false, SPI_OK_INSERT_RETURNING, "logging a compile");
  bool isnull;
  Datum log_id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
  SPI_freetuptable(SPI_tuptable);  // tuptables live until SPI_finish otherwise
  if (failure != nullptr) return;

  double share = o.pairs.empty() ? 0 : o.cost_usd / o.pairs.size();
  for (const trajc::QaPair& p : o.pairs) {
    StringInfoData turns;
    initStringInfo(&turns);
    appendStringInfoChar(&turns, '[');
    for (std::size_t i = 0; i < p.supporting_turns.size(); i++)
      appendStringInfo(&turns, i ? ", %d" : "%d", p.supporting_turns[i]);
    appendStringInfoChar(&turns, ']');
    Datum pa[12] = {text_from(o.session_id), text_from(o.agent), Int32GetDatum(o.turn_count),
                    text_from(p.question), text_from(p.answer), CStringGetTextDatum(turns.data),
                    text_from(p.qa_type), CStringGetTextDatum(run->model.model),
                    Float8GetDatum(share), text_from(p.raw_json), text_from(o.trajectory_hash),
                    log_id};
    char pn[12];
    memset(pn, ' ', sizeof pn);
    if (o.agent.empty()) pn[1] = 'n';
    spi_execute(run->pair_plan, pa, pn, false, SPI_OK_INSERT_RETURNING, "inserting a pair");
    if (run->mode == Mode::Single) *inserted = lappend(*inserted, SPI_copytuple(SPI_tuptable->vals[0]));
    SPI_freetuptable(SPI_tuptable);
  }
}

// Stores one outcome in its own subtransaction: if storing fails (a trigger,
// a constraint), only this session is lost, and the failure is logged.
void store_outcome(Run* run, const trajc::CompileOutcome& o) {
  MemoryContext cxt = CurrentMemoryContext;
  ResourceOwner owner = CurrentResourceOwner;
  const char* failure = nullptr;
  List* inserted = NIL;
  BeginInternalSubTransaction(nullptr);
  MemoryContextSwitchTo(cxt);
  PG_TRY();
  {
    insert_outcome(run, o, &inserted);
    ReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(cxt);
    CurrentResourceOwner = owner;
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(cxt);
    ErrorData* e = CopyErrorData();
    if (e->sqlerrcode == ERRCODE_QUERY_CANCELED || e->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
      PG_RE_THROW();
    FlushErrorState();
    RollbackAndReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(cxt);
    CurrentResourceOwner = owner;
    failure = psprintf("storing the result failed: %s", e->message);
  }
  PG_END_TRY();

  const char* session = o.session_id.c_str();
  if (failure != nullptr) {
    insert_outcome(run, o, &inserted, failure);
    emit_result(run, session, "failed", 0, rejected_count(o), o.cost_usd, failure);
    return;
  }
  ListCell* cell;
  foreach (cell, inserted)
    tuplestore_puttuple(run->rsinfo->setResult, static_cast<HeapTuple>(lfirst(cell)));
  emit_result(run, session, trajc::status_name(o.status), static_cast<int>(o.pairs.size()), rejected_count(o),
              o.cost_usd, o.error.empty() ? nullptr : o.error.c_str());
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
    Datum args[2] = {CStringGetTextDatum(session_id), CStringGetTextDatum(hash)};
    spi_execute(run->compiled_plan, args, nullptr, true, SPI_OK_SELECT, "checking earlier compiles");
    bool unchanged = SPI_processed > 0;
    SPI_freetuptable(SPI_tuptable);
    if (unchanged) {
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
  store_outcome(run, outcome);
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
  run->compiled_plan = keep(run, spi_prepare(kCompiledCheck, TEXTOID, TEXTOID));
  run->log_plan = keep(run, spi_prepare_n(kLogInsert, kLogArgs, kLogTypes));
  run->pair_plan = keep(run, spi_prepare_n(kPairInsert, 12, kPairTypes));
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
    SPI_freeplan(run->compiled_plan);
    SPI_freeplan(run->log_plan);
    SPI_freeplan(run->pair_plan);
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
