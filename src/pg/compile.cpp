// The SQL-callable compile functions: trajc_compile, trajc_compile_session,
// trajc_compile_batch, CALL trajc_compile_pending and trajc_estimate. Each reads as its three
// phases; the work between is the run driver's (run.cpp), and what differs
// between them is their RunPolicy.
//
// Must never: hold anything but entry points, or read an argument after
// the run has begun.
#include "citus.hpp"
#include "cpp_call.hpp"
#include "run.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(trajc_compile);
PG_FUNCTION_INFO_V1(trajc_compile_session);
PG_FUNCTION_INFO_V1(trajc_compile_batch);
PG_FUNCTION_INFO_V1(trajc_compile_pending);
PG_FUNCTION_INFO_V1(trajc_estimate);
}

using namespace trajc_pg;
namespace defaults = trajc::defaults;

namespace {

const char* text_arg_or_null(FunctionCallInfo fcinfo, int n) {
  return PG_ARGISNULL(n) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

const char* session_id_arg(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("session_id must not be NULL")));
  return text_to_cstring(PG_GETARG_TEXT_PP(0));
}

int int_arg(FunctionCallInfo fcinfo, int n, int if_null) {
  return PG_ARGISNULL(n) ? if_null : PG_GETARG_INT32(n);
}

bool bool_arg(FunctionCallInfo fcinfo, int n, bool if_null) {
  return PG_ARGISNULL(n) ? if_null : PG_GETARG_BOOL(n);
}

// The sessions of (min_turns, limit, ...) arguments, as trajc_extract lists them.
void list_sessions_of_args(Run* run, FunctionCallInfo fcinfo) {
  list_sessions(run, int_arg(fcinfo, 0, defaults::kMinTurns),
                int_arg(fcinfo, 1, defaults::kCompileLimit));
}

// (session_id, tier, force): one named session, results as `policy` says.
Datum compile_named_session(FunctionCallInfo fcinfo, const RunPolicy& policy) {
  // Phase 1: arguments, result set, run (settings, model, audit source).
  const char* session_id = session_id_arg(fcinfo);
  InitMaterializedSRF(fcinfo, 0);
  citus_require_held_here(session_id);  // its claim is taken where its shard is
  Run* run = begin_run(policy, fcinfo, text_arg_or_null(fcinfo, 1),
                       bool_arg(fcinfo, 2, defaults::kForceNamedSession));
  name_session(run, session_id);
  // Phases 2 and 3: the core compiles; the outcome is stored and emitted.
  drive(run);
  end_run(run);
  return (Datum)0;
}

// The procedure's closing line.
void notice_summary(const RunTotals& t) {
  ereport(NOTICE, (errmsg("trajc_compile_pending: %d ok, %d empty, %d failed, %d skipped;"
                          " %d pairs, $%.6f",
                          t.ok, t.empty, t.failed, t.skipped, t.pairs, t.cost_usd)));
}

}  // namespace

// trajc_compile(session_id, tier, force): the pairs it inserted.
extern "C" Datum trajc_compile(PG_FUNCTION_ARGS) {
  return compile_named_session(fcinfo, kCompilePolicy);
}

// trajc_compile_session(session_id, tier, force): trajc_compile's work, but
// the session's status row (as trajc_compile_batch gives) instead of its
// pairs, so a caller learns ok/empty/failed/skipped from the call itself.
extern "C" Datum trajc_compile_session(PG_FUNCTION_ARGS) {
  return compile_named_session(fcinfo, kCompileSessionPolicy);
}

// trajc_compile_batch(min_turns, limit, tier, force): one status row per session.
extern "C" Datum trajc_compile_batch(PG_FUNCTION_ARGS) {
  // Phase 1: result set, run, the listing.
  InitMaterializedSRF(fcinfo, 0);
  if (citus_distributed()) {  // each node compiles the sessions it holds (citus.hpp)
    citus_fan_out(reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo),
                  int_arg(fcinfo, 0, defaults::kMinTurns),
                  int_arg(fcinfo, 1, defaults::kCompileLimit), text_arg_or_null(fcinfo, 2),
                  bool_arg(fcinfo, 3, defaults::kForceBatch));
    return (Datum)0;
  }
  Run* run = begin_run(kBatchPolicy, fcinfo, text_arg_or_null(fcinfo, 2),
                       bool_arg(fcinfo, 3, defaults::kForceBatch));
  list_sessions_of_args(run, fcinfo);
  // Phases 2 and 3: compiled with requests in parallel, each session stored and emitted.
  drive(run);
  end_run(run);
  return (Datum)0;
}

// The batch as a procedure: commits after each session when called with CALL
// outside a transaction block (pg_cron, long runs), so a cancel or a crash
// keeps every finished session; inside a transaction block it behaves like
// the batch. Ends with a NOTICE summing up the run.
extern "C" Datum trajc_compile_pending(PG_FUNCTION_ARGS) {
  // Phases 1 to 3 as a background job runs them too; on Citus each node
  // compiles, and commits, the sessions it holds.
  notice_summary(compile_pending_work(fcinfo, int_arg(fcinfo, 0, defaults::kMinTurns),
                                      int_arg(fcinfo, 1, defaults::kCompileLimit),
                                      text_arg_or_null(fcinfo, 2), nullptr, nullptr));
  PG_RETURN_VOID();
}

// trajc_estimate(min_turns, limit, tier): what a batch would send; nothing is.
extern "C" Datum trajc_estimate(PG_FUNCTION_ARGS) {
  // Phase 1: result set, run (no key needed), the listing.
  InitMaterializedSRF(fcinfo, 0);
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  Run* run = begin_run(kEstimatePolicy, fcinfo, text_arg_or_null(fcinfo, 2), true);
  list_sessions_of_args(run, fcinfo);
  // Phase 2: every session loaded and estimated by the core.
  drive(run);
  // Phase 3: one row of totals.
  const RunTotals t = run_totals(run);
  Datum values[3] = {Int32GetDatum(t.sessions), Int64GetDatum(t.tokens_in),
                     DirectFunctionCall1(float8_numeric, Float8GetDatum(t.cost_usd))};
  bool nulls[3] = {false, false, false};
  tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  end_run(run);
  return (Datum)0;
}
