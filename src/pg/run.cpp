// The run driver: begin_run (phase 1 for the whole run), then one loop that
// loads sessions, starts them in the core's BatchRunner while slots, rate and
// budget allow, waits for replies and stores each finished session; end_run.
//
// Must never: raise inside run_cpp's callable, keep a session's rows or
// datums after it is stored (per-session work allocates in `scratch`, reset
// after each), or leave a claim behind after an error.
#include "run.hpp"

#include "audit_source.hpp"
#include "claims.hpp"
#include "cpp_call.hpp"
#include "guc.hpp"
#include "model_choice.hpp"
#include "spi_util.hpp"
#include "store.hpp"
#include "stored_text.hpp"
#include "subxact.hpp"

namespace trajc_pg {

namespace {

// How long one wait for replies lasts before the loop checks for interrupts.
constexpr long kWaitSliceMs = 200;
using trajc::kOverBudget;  // the core's text: a verifier call's budget stop says the same
constexpr int kHashSize = 17;  // a trajectory hash: 16 hex digits and the NUL

// Where a run's time goes (DEBUG1 at its end; see bench/compile.sh).
struct Timers {
  instr_time extract, render, compile, store;
};

instr_time clock_now() {
  instr_time t;
  INSTR_TIME_SET_CURRENT(t);
  return t;
}

// Adds the time since `start` to `total`.
void add_elapsed(instr_time* total, instr_time start) {
  instr_time now = clock_now();
  INSTR_TIME_ACCUM_DIFF(*total, now, start);
}

// The core polls this between transfers: plain flag reads, never raising.
bool cancel_requested() { return QueryCancelPending || ProcDiePending; }

}  // namespace

bool nonatomic_call(FunctionCallInfo fcinfo) {
  return fcinfo->context != nullptr && IsA(fcinfo->context, CallContext) &&
         !castNode(CallContext, fcinfo->context)->atomic;
}

// Everything one run needs, as plain data in a context that survives the
// commits of the procedure form.
struct Run {
  RunPolicy policy;
  MemoryContext cxt;
  MemoryContext scratch;  // one session's phase-1/3 garbage, reset after each
  bool force;
  bool commit_each;  // CALL outside a transaction block
  AuditSource* src;
  ModelChoice model;
  ModelChoice verifier;  // trajc.verify = 'model' (model NULL otherwise)
  SPIPlanPtr turns_plan;
  Store* store;
  Claims claims;
  char** sessions;
  int next_index;  // the next session to load
  // boxed C++ state
  trajc::CompileSettings* settings;
  trajc::BatchRunner* runner;
  trajc::Trajectory* next;  // loaded, waiting for a free slot
  trajc::Prepared* prepared;  // its hash, prompt and estimate, rendered once
  bool has_next;
  const char* next_session;   // its id, as listed (an entry of `sessions`)
  char next_hash[kHashSize];  // its hash, once computed ("" before)
  int64 next_batch;           // the open provider batch job holding it (InOpenBatch)
  std::vector<trajc::CompileOutcome>* finished;
  // where results go
  ReturnSetInfo* rsinfo;
  RunObserver observer;  // a background job's progress, or NULL
  void* observer_arg;
  StringInfo json;  // Emit::StatusJson, in cxt: survives the procedure's commits
  RunTotals totals;
  Timers time;
  // where loaded sessions go instead of the runner (provider batch mode)
  SessionSink sink;
  void* sink_state;
};

namespace {

void notify_observer(Run* run) {
  if (run->observer != nullptr) run->observer(run->totals, run->observer_arg);
}

void commit_if_procedure(Run* run) {
  if (!run->commit_each) return;
  SPI_commit();
  SPI_start_transaction();
}

Datum numeric_from(double v) { return DirectFunctionCall1(float8_numeric, Float8GetDatum(v)); }

void add_to_totals(RunTotals* t, const SessionResult& r) {
  switch (r.status) {
    case trajc::Status::Ok: t->ok++; break;
    case trajc::Status::Empty: t->empty++; break;
    case trajc::Status::Failed: t->failed++; break;
    case trajc::Status::Skipped: t->skipped++; break;
  }
  t->pairs += r.pairs;
  t->cost_usd += r.cost_usd;
}

void report(const SessionResult& r) {
  if (r.status == trajc::Status::Failed)
    ereport(WARNING, (errmsg("trajc: compiling session \"%s\" failed: %s", r.session_id, r.error)));
  else if (r.status == trajc::Status::Skipped)
    ereport(NOTICE, (errmsg("trajc: session \"%s\" skipped: %s", r.session_id, r.error)));
}

void put_status_row(ReturnSetInfo* rsinfo, const SessionResult& r) {
  Datum values[6] = {CStringGetTextDatum(r.session_id),
                     CStringGetTextDatum(trajc::status_name(r.status)), Int32GetDatum(r.pairs),
                     Int32GetDatum(r.rejected), numeric_from(r.cost_usd),
                     r.error ? CStringGetTextDatum(r.error) : (Datum)0};
  bool nulls[6] = {false, false, false, false, false, r.error == nullptr};
  tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

// The json twin of put_status_row: {"session_id": ..., ..., "error": ...}.
void put_status_json(StringInfo json, const SessionResult& r) {
  appendStringInfoString(json, json->len > 1 ? ", {\"session_id\": " : "{\"session_id\": ");
  escape_json(json, r.session_id);
  appendStringInfoString(json, ", \"status\": ");
  escape_json(json, trajc::status_name(r.status));
  appendStringInfo(json, ", \"pairs\": %d, \"rejected\": %d, \"cost_usd\": %.15g, \"error\": ",
                   r.pairs, r.rejected, r.cost_usd);
  if (r.error)
    escape_json(json, r.error);
  else
    appendStringInfoString(json, "null");
  appendStringInfoChar(json, '}');
}

// Phase 3 for one session's result, as the policy says.
void emit(Run* run, const SessionResult& r) {
  add_to_totals(&run->totals, r);
  notify_observer(run);
  if (run->policy.reports) report(r);
  switch (run->policy.emit) {
    case Emit::Nothing: break;
    case Emit::Pairs: {
      ListCell* cell;
      foreach (cell, r.rows)
        tuplestore_puttuple(run->rsinfo->setResult, static_cast<HeapTuple>(lfirst(cell)));
      break;
    }
    case Emit::StatusRows: put_status_row(run->rsinfo, r); break;
    case Emit::StatusJson: put_status_json(run->json, r); break;
  }
}

// Logs a session that is not compiled (skipped) or could not be (failed),
// and emits its result.
void log_and_emit(Run* run, const char* session_id, const char* hash, trajc::Status status,
                  const char* why) {
  emit(run, log_session(run->store, session_id, hash, status, why));
}

void skip(Run* run, const char* session_id, const char* hash, const char* why) {
  log_and_emit(run, session_id, hash, trajc::Status::Skipped, why);
}

// A session whose handling failed at the boundary (its step rolled back):
// its failed row says what went wrong, and the run goes on.
void fail(Run* run, const char* session_id, const char* hash, const char* what,
          const ErrorData* error) {
  log_and_emit(run, session_id, hash, trajc::Status::Failed,
               psprintf("%s failed: %s", what, error->message));
}

// Raised for a session the caller named that has no turns.
[[noreturn]] void no_such_session(const char* session_id) {
  ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND),
                  errmsg("session \"%s\" has no turns in the audit log", session_id),
                  errhint("trajc_extract() lists the sessions of trajc.source.")));
  pg_unreachable();
}

// What reading a session found.
enum class Loaded { Ready, NoTurns, Unchanged, InOpenBatch };

// Phase 1 (read rows) and 2 (trajectory, hash, prompt and estimate) for one
// claimed session: into run->next and run->prepared, its hash also into
// run->next_hash. The session is rendered once: the hash over every turn,
// the prompt (and the estimate measured on it) once it is to be compiled;
// the runner sends that very prompt.
Loaded read_session(Run* run, const char* session_id) {
  instr_time t0 = clock_now();
  SessionRows rows = load_session_rows(run->src, run->turns_plan, session_id);
  add_elapsed(&run->time.extract, t0);
  t0 = clock_now();
  char* hash = run->next_hash;
  trajc::Trajectory* next = run->next;
  trajc::Prepared* prepared = run->prepared;
  const char* core_id = to_core_text(session_id);
  const bool compiles = run->policy.compiles;
  run_cpp([&] {
    trajc::to_trajectory(rows.rows, core_id, *next);
    prepared->trajectory_hash = compiles ? trajc::trajectory_hash(*next) : std::string();
    std::strncpy(hash, prepared->trajectory_hash.c_str(), kHashSize - 1);
  });
  SPI_freetuptable(rows.tuples);
  if (rows.rows.nturns == 0) {
    add_elapsed(&run->time.render, t0);
    return Loaded::NoTurns;
  }
  if (compiles && !run->force && compiled_before(run->store, session_id, hash)) {
    add_elapsed(&run->time.render, t0);
    return Loaded::Unchanged;
  }
  // Sent in a provider batch job and not yet collected: the job owns it, so
  // neither an online compile nor another job compiles it meanwhile (force
  // or not: its result is coming and would be stored twice).
  if (compiles && (run->next_batch = open_batch_of(run->store, session_id)) != 0) {
    add_elapsed(&run->time.render, t0);
    return Loaded::InOpenBatch;
  }
  const trajc::CompileSettings* settings = run->settings;
  run_cpp([&] { trajc::prepare_request(*next, *settings, *prepared); });
  add_elapsed(&run->time.render, t0);
  return Loaded::Ready;
}

const char* hash_or_null(const Run* run) { return run->next_hash[0] ? run->next_hash : nullptr; }

// Claims and reads one session. Returns false, with its skip or failure
// logged, when it is not to be compiled.
bool load_session(Run* run, const char* session_id) {
  const bool compiles = run->policy.compiles;
  if (compiles && !claim(&run->claims, session_id)) {
    skip(run, session_id, nullptr, "being compiled by another run");
    return false;
  }
  run->next_hash[0] = '\0';
  Loaded loaded = Loaded::NoTurns;
  auto read = [&] { loaded = read_session(run, session_id); };
  // A compile logs a session it cannot read as failed and goes on; an
  // estimate stores nothing, so its errors are the caller's.
  if (!compiles) {
    read();
  } else if (ErrorData* error = in_subtransaction(read)) {
    fail(run, session_id, hash_or_null(run), "reading the session", error);
    release_claim(&run->claims, session_id);
    return false;
  }
  switch (loaded) {
    case Loaded::Ready:
      return true;
    case Loaded::NoTurns:
      release_claim(&run->claims, session_id);
      if (run->policy.named) no_such_session(session_id);
      // Listed, then deleted (retention) before its turn came: nothing to compile.
      if (compiles) skip(run, session_id, nullptr, "no longer in the audit log");
      return false;
    case Loaded::Unchanged:
      skip(run, session_id, run->next_hash, "unchanged since its last successful compile");
      release_claim(&run->claims, session_id);
      return false;
    case Loaded::InOpenBatch:
      skip(run, session_id, run->next_hash,
           psprintf("waiting for provider batch %lld", static_cast<long long>(run->next_batch)));
      release_claim(&run->claims, session_id);
      return false;
  }
  pg_unreachable();
}

// Loads the next listed session into run->next. Its phase-1/3 allocations
// go to `scratch`, reset afterwards; a session not to be compiled is
// committed (its skip row) at once.
void load_next(Run* run) {
  const char* session_id = run->sessions[run->next_index++];
  run->next_session = session_id;
  MemoryContext caller = MemoryContextSwitchTo(run->scratch);
  run->has_next = load_session(run, session_id);
  MemoryContextSwitchTo(caller);
  MemoryContextReset(run->scratch);
  if (!run->has_next) commit_if_procedure(run);
}

// Phase 3 for one finished session, then its commit and claim release.
void store_and_commit(Run* run, const trajc::CompileOutcome& outcome) {
  MemoryContext caller = MemoryContextSwitchTo(run->scratch);
  const SessionResult r = store_outcome(run->store, outcome, run->policy.emit == Emit::Pairs);
  emit(run, r);
  commit_if_procedure(run);
  release_claim(&run->claims, r.session_id);  // the id as listed: the claim's key
  MemoryContextSwitchTo(caller);
  MemoryContextReset(run->scratch);
}

// Over budget with nothing in flight: the loaded session and every one not
// yet loaded are logged as skipped, each committed.
void skip_the_rest(Run* run) {
  const char* session = run->next_session;
  run->has_next = false;
  skip(run, session, nullptr, kOverBudget);
  commit_if_procedure(run);
  release_claim(&run->claims, session);
  MemoryContext caller = MemoryContextSwitchTo(run->scratch);
  for (; run->next_index < run->totals.sessions; run->next_index++) {
    skip(run, run->sessions[run->next_index], nullptr, kOverBudget);
    commit_if_procedure(run);
    MemoryContextSwitchTo(run->scratch);
    MemoryContextReset(run->scratch);
  }
  MemoryContextSwitchTo(caller);
}

// The loaded session's request could not be started (the core refused it):
// logged failed and committed; the run goes on with the next one.
void not_started(Run* run, ErrorData* error) {
  MemoryContext caller = MemoryContextSwitchTo(run->scratch);
  fail(run, run->next_session, hash_or_null(run), "starting its request", error);
  commit_if_procedure(run);
  release_claim(&run->claims, run->next_session);
  MemoryContextSwitchTo(caller);
  MemoryContextReset(run->scratch);
  FreeErrorData(error);  // copied into the caller's context, which lives on
}

// An estimate adds the loaded session to its totals instead of starting it.
void count_estimate(Run* run) {
  run->totals.tokens_in += run->prepared->estimate.tokens_in;
  run->totals.cost_usd += run->prepared->estimate.cost_usd;
  run->has_next = false;
}

// Starts the loaded session if the runner admits it now. Returns false when
// the loop must wait for replies first (or nothing may start any more).
bool start_next(Run* run) {
  using Admission = trajc::BatchRunner::Admission;
  trajc::BatchRunner* runner = run->runner;
  trajc::Prepared* prepared = run->prepared;
  Admission admission = Admission::Wait;
  std::size_t in_flight = 0;
  run_cpp([&] {
    admission = runner->admit(prepared->estimate);
    in_flight = runner->active();
  });
  // Over budget while requests are in flight: they may cost less than
  // estimated, so decide once they are back.
  if (admission == Admission::Wait || (admission == Admission::OverBudget && in_flight > 0))
    return false;
  if (admission == Admission::OverBudget) {
    skip_the_rest(run);
    return false;
  }
  const trajc::Trajectory* next = run->next;
  instr_time t0 = clock_now();
  ErrorData* error = in_subtransaction([&] { run_cpp([&] { runner->start(*next, *prepared); }); });
  add_elapsed(&run->time.compile, t0);
  run->has_next = false;
  if (error != nullptr) not_started(run, error);
  return true;
}

bool more_to_load(const Run* run) { return run->next_index < run->totals.sessions; }

// Hands the loaded session to the run's sink; its per-session garbage goes
// with `scratch`, like a stored session's.
void hand_over(Run* run) {
  MemoryContext caller = MemoryContextSwitchTo(run->scratch);
  run->sink(run, run->next_session, run->next_hash, *run->next, run->sink_state);
  MemoryContextSwitchTo(caller);
  MemoryContextReset(run->scratch);
  run->has_next = false;
}

// Loads and starts sessions while the runner takes them.
void start_what_fits(Run* run) {
  while (run->has_next || more_to_load(run)) {
    if (!run->has_next) load_next(run);
    if (!run->has_next) continue;
    if (!run->policy.compiles)
      count_estimate(run);
    else if (run->sink != nullptr)
      hand_over(run);
    else if (!start_next(run))
      return;
  }
}

bool all_done(Run* run) {
  std::size_t active = 0;
  trajc::BatchRunner* runner = run->runner;
  run_cpp([&] { active = runner->active(); });
  return active == 0 && !run->has_next && !more_to_load(run);
}

// Waits up to one slice for replies, then stores every finished session.
void store_what_finished(Run* run) {
  trajc::BatchRunner* runner = run->runner;
  std::vector<trajc::CompileOutcome>* finished = run->finished;
  instr_time t0 = clock_now();
  run_cpp([&] { *finished = runner->wait(kWaitSliceMs); });
  add_elapsed(&run->time.compile, t0);
  CHECK_FOR_INTERRUPTS();
  t0 = clock_now();
  for (const trajc::CompileOutcome& outcome : *finished) store_and_commit(run, outcome);
  add_elapsed(&run->time.store, t0);
  run_cpp([&] { finished->clear(); });
}

// The one loop of every run.
void drive_loop(Run* run) {
  for (;;) {
    start_what_fits(run);
    if (all_done(run)) return;
    store_what_finished(run);
  }
}

SPIPlanPtr keep(Run* run, SPIPlanPtr plan) {
  if (run->commit_each) SPI_keepplan(plan);  // survives the procedure's commits
  return plan;
}

// Snapshot of every setting the core needs, as plain values (phase 1), then
// copied into the boxed CompileSettings (phase 2).
void snapshot_settings(Run* run) {
  const ModelChoice m = run->model;
  const ModelChoice v = run->verifier;
  const Gucs g = gucs;
  const bool one_at_a_time = run->policy.named;
  const bool compiles = run->policy.compiles;
  trajc::CompileSettings* s = run->settings;
  run_cpp([&] {
    s->provider = m.provider;
    s->model = m.model;
    s->api_key = m.api_key != nullptr ? m.api_key : "";
    s->base_url = m.base_url;
    s->prices = trajc::Prices{m.usd_per_mtok_in, m.usd_per_mtok_out};
    s->timeout_ms = g.timeout_ms;
    s->max_retries = g.max_retries;
    s->concurrency = one_at_a_time ? 1 : g.concurrency;
    s->max_requests_per_minute = g.max_requests_per_minute;
    s->max_cost_usd = g.max_cost_usd;
    s->prompt.budget_chars = static_cast<std::size_t>(g.prompt_budget_chars);
    s->prompt.max_value_chars = static_cast<std::size_t>(g.max_value_chars);
    s->max_response_bytes = static_cast<std::size_t>(g.max_response_kb) * 1024;
    s->quality.verify = static_cast<trajc::VerifyMode>(g.verify);
    // An estimate sends nothing; with a model to verify, its verifier part
    // is counted (the offline provider has no verifier: nothing to count).
    if (!compiles && s->quality.verify == trajc::VerifyMode::Model &&
        m.provider == trajc::Provider::Offline)
      s->quality.verify = trajc::VerifyMode::Literal;
    s->quality.dedup_threshold = g.dedup_threshold;
    s->redact_pii = g.redact == kRedactPii;
    if (v.model != nullptr)
      s->verifier = trajc::ModelEndpoint{v.provider, v.model, v.api_key != nullptr ? v.api_key : "",
                                         v.base_url, trajc::Prices{v.usd_per_mtok_in, v.usd_per_mtok_out}};
  });
}

// trajc.verify = 'model': the verifier is trajc.provider's model for
// trajc.verify_tier, or trajc.verify_model, with the compile's key (an
// estimate needs no key: it prices the verifier's part). The offline
// provider has none: the core refuses that pairing on a compile (22023).
bool verifies_with_model() {
  return gucs.verify == static_cast<int>(trajc::VerifyMode::Model) &&
         static_cast<trajc::Provider>(gucs.provider) != trajc::Provider::Offline;
}

// Phase 1 of every run. commit_each: commit after each session, as a CALL
// outside a transaction block does; the run then lives in PortalContext.
Run* start_run(const RunPolicy& policy, bool commit_each, ReturnSetInfo* rsinfo, const char* tier,
               bool force) {
  MemoryContext parent = commit_each ? PortalContext : CurrentMemoryContext;
  MemoryContext cxt = AllocSetContextCreate(parent, "trajc run", ALLOCSET_DEFAULT_SIZES);
  Run* run = static_cast<Run*>(MemoryContextAllocZero(cxt, sizeof(Run)));
  run->policy = policy;
  run->cxt = cxt;
  run->scratch = AllocSetContextCreate(cxt, "trajc session", ALLOCSET_DEFAULT_SIZES);
  run->force = force;
  run->commit_each = commit_each;
  run->rsinfo = rsinfo;
  spi_connect(commit_each);
  MemoryContext spi_cxt = MemoryContextSwitchTo(cxt);
  if (policy.emit == Emit::StatusJson) {
    run->json = makeStringInfo();
    appendStringInfoChar(run->json, '[');
  }

  run->model = choose_model(tier, policy.compiles);
  if (verifies_with_model())
    run->verifier = choose_model_for(run->model.provider, gucs.verify_model, gucs.verify_tier, policy.compiles);
  run->src = resolve_audit_source();
  run->turns_plan = keep(run, spi_prepare(turns_query(run->src, true), TEXTOID));
  run->store = open_store(cxt, &run->model, commit_each, gucs.dedup_threshold);
  claims_init(&run->claims, commit_each);

  run->settings = box_new<trajc::CompileSettings>(cxt);
  snapshot_settings(run);
  const trajc::CompileSettings* s = run->settings;
  run->runner = box_new<trajc::BatchRunner>(
      cxt, [&] { return new trajc::BatchRunner(*s, cancel_requested); });
  run->next = box_new<trajc::Trajectory>(cxt);
  run->prepared = box_new<trajc::Prepared>(cxt);
  run->finished = box_new<std::vector<trajc::CompileOutcome>>(cxt);
  MemoryContextSwitchTo(spi_cxt);
  return run;
}

}  // namespace

Run* begin_run(const RunPolicy& policy, FunctionCallInfo fcinfo, const char* tier, bool force) {
  const bool has_rows = policy.emit == Emit::Pairs || policy.emit == Emit::StatusRows;
  ReturnSetInfo* rsinfo =
      has_rows ? reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo) : nullptr;
  return start_run(policy, nonatomic_call(fcinfo), rsinfo, tier, force);
}

Run* begin_background_run(const RunPolicy& policy, const char* tier) {
  return start_run(policy, true, nullptr, tier, false);
}

void observe_run(Run* run, RunObserver observer, void* arg) {
  run->observer = observer;
  run->observer_arg = arg;
}

void name_session(Run* run, const char* session_id) {
  run->sessions = static_cast<char**>(MemoryContextAlloc(run->cxt, sizeof(char*)));
  run->sessions[0] = MemoryContextStrdup(run->cxt, session_id);
  run->totals.sessions = 1;
}

void given_sessions(Run* run, const char* const* session_ids, int n) {
  run->sessions = static_cast<char**>(MemoryContextAlloc(run->cxt, sizeof(char*) * (n + 1)));
  for (int i = 0; i < n; i++) run->sessions[i] = MemoryContextStrdup(run->cxt, session_ids[i]);
  run->totals.sessions = n;
  commit_if_procedure(run);  // as after a listing
}

void list_sessions(Run* run, int min_turns, int limit) {
  check_listing_args(min_turns, limit);
  Oid types[3] = {INT4OID, INT4OID, TIMESTAMPTZOID};
  Datum args[3] = {Int32GetDatum(min_turns), Int32GetDatum(limit), (Datum)0};
  char nulls[3] = {' ', ' ', 'n'};
  spi_check(SPI_execute_with_args(sessions_query(run->src, false), 3, types, args, nulls, true, 0),
            SPI_OK_SELECT, "listing sessions");
  run->totals.sessions = static_cast<int>(SPI_processed);
  run->sessions =
      static_cast<char**>(MemoryContextAlloc(run->cxt, sizeof(char*) * (SPI_processed + 1)));
  for (uint64 i = 0; i < SPI_processed; i++)
    run->sessions[i] = MemoryContextStrdup(
        run->cxt, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
  SPI_freetuptable(SPI_tuptable);
  notify_observer(run);
  // A procedure starts compiling in a transaction of its own.
  commit_if_procedure(run);
}

void set_sink(Run* run, SessionSink sink, void* state) {
  run->sink = sink;
  run->sink_state = state;
}

const ModelChoice& run_model(const Run* run) { return run->model; }
const trajc::CompileSettings& run_settings(const Run* run) { return *run->settings; }
const Store* run_store(const Run* run) { return run->store; }
bool run_commits(const Run* run) { return run->commit_each; }
void run_commit(Run* run) { commit_if_procedure(run); }
// A sink's sessions are protected by rows of its own (open batch requests),
// which claims do not read: a transaction-level claim stays to the commit.
void release_session(Run* run, const char* session_id) {
  release_claim_at_commit(&run->claims, session_id);
}

void drive(Run* run) {
  PG_TRY();
  { drive_loop(run); }
  PG_CATCH();
  {
    release_all_claims(&run->claims);  // session-level claims outlive transactions
    PG_RE_THROW();
  }
  PG_END_TRY();
}

const RunTotals& run_totals(const Run* run) { return run->totals; }

const char* status_json(const Run* run) {
  return psprintf("%s]", run->json != nullptr ? run->json->data : "[");
}

void end_run(Run* run) {
  ereport(DEBUG1,
          (errmsg("trajc run timing: extract %.3f ms, render %.3f ms, compile %.3f ms,"
                  " store %.3f ms over %d sessions",
                  INSTR_TIME_GET_MILLISEC(run->time.extract),
                  INSTR_TIME_GET_MILLISEC(run->time.render),
                  INSTR_TIME_GET_MILLISEC(run->time.compile),
                  INSTR_TIME_GET_MILLISEC(run->time.store), run->totals.sessions)));
  if (run->commit_each) SPI_freeplan(run->turns_plan);
  close_store(run->store);
  SPI_finish();
  MemoryContextDelete(run->cxt);  // deletes the runner: closes connections now
}

}  // namespace trajc_pg
