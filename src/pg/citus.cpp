// trajc on a Citus cluster: the compile entry points' side of it. The node a
// batch is called on hands it to trajc.citus_fan_out (SQL: list node by node,
// group by the node holding each session, call every node at once; a node
// that cannot be reached costs only its own part); each node runs its
// share in CALL trajc.compile_sessions (here), with the ordinary run driver.
// A background job's fan-out goes in rounds, committing its progress after
// each. Everything about Citus itself (catalogs, master_run_on_worker) stays in
// the extension's SQL, so this file builds and runs without Citus.
//
// Must never: apply a setting that is not a user-level one (keys and base
// URLs are superuser settings: each node keeps its own), or compile a
// session whose shard is on another node.
#include "citus.hpp"

#include "audit_source.hpp"
#include "guc.hpp"
#include "spi_util.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(trajc_compile_sessions);
}

namespace trajc_pg {

namespace {

// The text of column `col` of SPI result row `row`, copied into `cxt`;
// NULL for SQL NULL.
char* spi_text(MemoryContext cxt, uint64 row, int col) {
  char* v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
  return v == nullptr ? nullptr : MemoryContextStrdup(cxt, v);
}

// The caller's settings, passed by the node that fanned the batch out, for
// this connection only (trajc.citus_apply_settings: the listing applies them
// the same way). Only user-level settings are taken: anything a superuser
// alone may set (a key, a base URL) is refused, never applied.
void apply_settings(Datum settings) {
  Oid type = JSONBOID;
  spi_check(SPI_execute_with_args("SELECT trajc.citus_apply_settings($1)", 1, &type, &settings,
                                  nullptr, false, 0),
            SPI_OK_SELECT, "applying the passed settings");
}

// The given sessions that this node holds, in order (all of them when trajc
// is not distributed), copied into `cxt`.
int sessions_held_here(Datum sessions, MemoryContext cxt, char*** ids) {
  Oid type = TEXTARRAYOID;
  spi_check(SPI_execute_with_args(
                "SELECT s.session_id FROM trajc.citus_split($1) s WHERE s.elsewhere IS NULL",
                1, &type, &sessions, nullptr, true, 0),
            SPI_OK_SELECT, "finding the sessions held here");
  int n = static_cast<int>(SPI_processed);
  *ids = static_cast<char**>(MemoryContextAlloc(cxt, sizeof(char*) * (n + 1)));
  for (int i = 0; i < n; i++) (*ids)[i] = spi_text(cxt, i, 1);
  return n;
}

// The procedure's INOUT outcome as its one-column result row.
Datum outcome_row(const char* json) {
  TupleDesc desc = CreateTemplateTupleDesc(1);
  TupleDescInitEntry(desc, 1, "outcome", JSONBOID, -1, 0);
  desc = BlessTupleDesc(desc);
  Datum value = DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
  bool isnull = false;
  return HeapTupleGetDatum(heap_form_tuple(desc, &value, &isnull));
}

void add_status(RunTotals* t, const char* status, int pairs, double cost) {
  switch (*status) {
    case 'o': t->ok++; break;
    case 'e': t->empty++; break;
    case 'f': t->failed++; break;
    default: t->skipped++; break;
  }
  t->pairs += pairs;
  t->cost_usd += cost;
}

}  // namespace

bool citus_distributed() {
  spi_connect();
  spi_check(SPI_execute("SELECT trajc.citus_distributed()", true, 1), SPI_OK_SELECT,
            "checking for Citus");
  bool isnull = true;
  bool distributed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
                                                &isnull));
  SPI_finish();
  return distributed && !isnull;
}

void citus_require_held_here(const char* session_id) {
  MemoryContext caller = CurrentMemoryContext;
  spi_connect();
  Oid type = TEXTOID;
  Datum arg = CStringGetTextDatum(session_id);
  spi_check(SPI_execute_with_args("SELECT s.elsewhere FROM trajc.citus_split(ARRAY[$1]) s", 1,
                                  &type, &arg, nullptr, true, 1),
            SPI_OK_SELECT, "finding the node holding the session");
  const char* elsewhere = SPI_processed > 0 ? spi_text(caller, 0, 1) : nullptr;
  SPI_finish();
  if (elsewhere != nullptr)
    ereport(ERROR,
            (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
             errmsg("session \"%s\" is held by the Citus node %s, not by this one", session_id,
                    elsewhere),
             errdetail("trajc compiles a session only on the node holding its shard, where its"
                       " claim and its earlier compiles are."),
             errhint("Call it outside a transaction block (Citus then runs it on that node),"
                     " or on that node.")));
}

namespace {

// How many sessions a job's round sends each node: a few times the
// concurrency it compiles with, so a node stays busy through most of a round
// while the job's row still moves every few sessions.
constexpr int kRoundPerConcurrency = 2;

// A fanned-out batch's state across its rounds, in a context that outlives
// a job's commits (its portal's) or, for one round, the caller's.
struct FanOut {
  ReturnSetInfo* rsinfo;
  RunTotals totals;
  StringInfo failures;  // the failed nodes and why, "; "-separated
  Datum settings;       // trajc.citus_settings(), jsonb
  Datum remaining;      // listed, not yet compiled: text[] (NULL: none)
};

void add_failure(FanOut* f, const char* error) {
  // A node's failure is the same text on each of its sessions' rows: once.
  if (strstr(f->failures->data, error) == nullptr)
    appendStringInfo(f->failures, "%s%s", f->failures->len > 0 ? "; " : "", error);
}

// The settings passed to the nodes, then the listing, node by node: the
// sessions into f->remaining, a node that could not list as one failed row.
void list_for_fan_out(FanOut* f, MemoryContext keep, int min_turns, int limit) {
  spi_check(SPI_execute("SELECT trajc.citus_settings()", true, 1), SPI_OK_SELECT,
            "reading the settings passed to the Citus nodes");
  bool isnull = false;
  Datum settings = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
  MemoryContext spi_cxt = MemoryContextSwitchTo(keep);
  f->settings = PointerGetDatum(PG_DETOAST_DATUM_COPY(settings));
  MemoryContextSwitchTo(spi_cxt);
  Oid types[3] = {INT4OID, INT4OID, JSONBOID};
  Datum args[3] = {Int32GetDatum(min_turns), Int32GetDatum(limit), f->settings};
  spi_check(SPI_execute_with_args("SELECT l.listed, l.failures FROM trajc.citus_list($1, $2, $3) l",
                                  3, types, args, nullptr, false, 1),
            SPI_OK_SELECT, "listing the sessions node by node");
  HeapTuple row = SPI_tuptable->vals[0];
  TupleDesc desc = SPI_tuptable->tupdesc;
  Datum listed = SPI_getbinval(row, desc, 1, &isnull);
  if (!isnull) {
    spi_cxt = MemoryContextSwitchTo(keep);
    f->remaining = PointerGetDatum(PG_DETOAST_DATUM_COPY(listed));
    MemoryContextSwitchTo(spi_cxt);
    f->totals.sessions = ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(f->remaining)),
                                        ARR_DIMS(DatumGetArrayTypeP(f->remaining)));
  }
  Datum unlisted = SPI_getbinval(row, desc, 2, &isnull);
  Datum* texts = nullptr;
  int n = 0;
  if (!isnull) deconstruct_array_builtin(DatumGetArrayTypeP(unlisted), TEXTOID, &texts, nullptr, &n);
  for (int i = 0; i < n; i++) {
    const char* error = psprintf("%s; its sessions were not listed, none of them compiled",
                                 TextDatumGetCString(texts[i]));
    // Also a WARNING: the procedure has no rows to show it in.
    ereport(WARNING, (errmsg("trajc: %s", error)));
    f->totals.sessions++;
    add_status(&f->totals, "failed", 0, 0);
    add_failure(f, error);
    if (f->rsinfo != nullptr) {
      Datum values[6] = {(Datum)0, CStringGetTextDatum("failed"), Int32GetDatum(0),
                         Int32GetDatum(0), DirectFunctionCall1(int4_numeric, Int32GetDatum(0)),
                         CStringGetTextDatum(error)};
      bool nulls[6] = {true, false, false, false, false, false};
      tuplestore_putvalues(f->rsinfo->setResult, f->rsinfo->setDesc, values, nulls);
    }
  }
}

// One round (trajc.citus_fan_out): each node compiles up to `per_node` (0:
// all) of the remaining sessions it holds; their rows go into the totals and
// the result set, and they leave f->remaining.
void fan_out_round(FanOut* f, MemoryContext keep, int per_node, const char* tier, bool force) {
  Oid types[6] = {TEXTARRAYOID, INT4OID, TEXTOID, BOOLOID, JSONBOID, FLOAT8OID};
  Datum args[6] = {f->remaining, Int32GetDatum(per_node),
                   tier != nullptr ? CStringGetTextDatum(tier) : (Datum)0, BoolGetDatum(force),
                   f->settings, Float8GetDatum(f->totals.cost_usd)};
  char nulls[6] = {' ', ' ', tier != nullptr ? ' ' : 'n', ' ', ' ', ' '};
  spi_check(SPI_execute_with_args("SELECT * FROM trajc.citus_fan_out($1, $2, $3, $4, $5, $6)", 6,
                                  types, args, nulls, false, 0),
            SPI_OK_SELECT, "fanning the batch out to the Citus nodes");
  const uint64 nrows = SPI_processed;
  SPITupleTable* rows = SPI_tuptable;
  Datum* done = static_cast<Datum*>(palloc(sizeof(Datum) * (nrows + 1)));
  for (uint64 i = 0; i < nrows; i++) {
    HeapTuple row = rows->vals[i];
    TupleDesc desc = rows->tupdesc;
    Datum values[7];
    bool isnull[7];
    for (int c = 0; c < 7; c++) values[c] = SPI_getbinval(row, desc, c + 1, &isnull[c]);
    done[i] = values[0];
    add_status(&f->totals, SPI_getvalue(row, desc, 2), DatumGetInt32(values[2]),
               DatumGetFloat8(DirectFunctionCall1(numeric_float8, values[4])));
    if (DatumGetBool(values[6])) add_failure(f, SPI_getvalue(row, desc, 6));
    // The batch's columns are the first six.
    if (f->rsinfo != nullptr)
      tuplestore_putvalues(f->rsinfo->setResult, f->rsinfo->setDesc, values, isnull);
  }
  // Every session sent has its row; the rest wait for the next round.
  Oid ftypes[2] = {TEXTARRAYOID, TEXTARRAYOID};
  Datum fargs[2] = {f->remaining,
                    PointerGetDatum(construct_array_builtin(done, static_cast<int>(nrows), TEXTOID))};
  spi_check(SPI_execute_with_args("SELECT pg_catalog.array_agg(u.s ORDER BY u.o)"
                                  " FROM pg_catalog.unnest($1) WITH ORDINALITY AS u(s, o)"
                                  " WHERE u.s <> ALL ($2)",
                                  2, ftypes, fargs, nullptr, true, 1),
            SPI_OK_SELECT, "finding the sessions left");
  bool isnull = false;
  Datum left = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
  // A round that compiled nothing would never end the loop: stop (cannot
  // happen while trajc.citus_fan_out answers for every session it sends).
  if (isnull || nrows == 0) {
    f->remaining = (Datum)0;
    return;
  }
  MemoryContext spi_cxt = MemoryContextSwitchTo(keep);
  f->remaining = PointerGetDatum(PG_DETOAST_DATUM_COPY(left));
  MemoryContextSwitchTo(spi_cxt);
}

// A job's progress, committed so that other sessions see it.
void report_progress(const FanOut* f, RunObserver observer, void* arg) {
  if (observer == nullptr) return;
  observer(f->totals, arg);
  SPI_commit();
  SPI_start_transaction();
}

}  // namespace

RunTotals citus_fan_out(ReturnSetInfo* rsinfo, int min_turns, int limit, const char* tier,
                        bool force, RunObserver observer, void* arg) {
  // Bad arguments and a bad trajc.source fail here, as on one server, not as
  // a failure of every node.
  check_listing_args(min_turns, limit);
  // A job (the observer) commits its progress between rounds: its state then
  // lives in its portal's context, which the commits leave.
  const bool rounds = observer != nullptr;
  MemoryContext keep = rounds ? PortalContext : CurrentMemoryContext;
  FanOut* f = static_cast<FanOut*>(MemoryContextAllocZero(keep, sizeof(FanOut)));
  f->rsinfo = rsinfo;
  MemoryContext caller = MemoryContextSwitchTo(keep);
  f->failures = makeStringInfo();
  MemoryContextSwitchTo(caller);
  spi_connect(rounds);
  (void)resolve_audit_source();
  list_for_fan_out(f, keep, min_turns, limit);
  report_progress(f, observer, arg);  // sessions_total, before any compile
  const int per_node = rounds ? kRoundPerConcurrency * Max(gucs.concurrency, 1) : 0;
  while (f->remaining != (Datum)0) {
    fan_out_round(f, keep, per_node, tier, force);
    report_progress(f, observer, arg);
  }
  if (f->failures->len > 0) f->totals.node_failures = f->failures->data;
  SPI_finish();
  return f->totals;
}

RunTotals compile_pending_work(FunctionCallInfo fcinfo, int min_turns, int limit,
                               const char* tier, RunObserver observer, void* arg) {
  // Each node commits its sessions as it goes; a job's row follows round by
  // round.
  if (citus_distributed())
    return citus_fan_out(nullptr, min_turns, limit, tier, false, observer, arg);
  Run* run = fcinfo != nullptr ? begin_run(kPendingPolicy, fcinfo, tier, false)
                               : begin_background_run(kPendingPolicy, tier);
  observe_run(run, observer, arg);
  list_sessions(run, min_turns, limit);  // committed before the first session
  drive(run);                            // committing per session
  const RunTotals totals = run_totals(run);
  end_run(run);
  return totals;
}

}  // namespace trajc_pg

using namespace trajc_pg;

// CALL trajc.compile_sessions(sessions, tier, force, settings, outcome):
// one node's share of a fanned-out batch, compiled here with this node's
// keys and trajc.concurrency, committing after each session when called
// outside a transaction block. Sessions this node does not hold (a shard
// moved since the listing) are left out; the caller reports them.
extern "C" Datum trajc_compile_sessions(PG_FUNCTION_ARGS) {
  if (PG_ARGISNULL(0))
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("sessions must not be NULL")));
  // Phase 1: the caller's settings, then which of the sessions are here.
  MemoryContext caller = CurrentMemoryContext;
  spi_connect();
  if (!PG_ARGISNULL(3)) apply_settings(PG_GETARG_DATUM(3));
  char** ids = nullptr;
  int n = sessions_held_here(PG_GETARG_DATUM(0), caller, &ids);
  SPI_finish();
  const char* tier = PG_ARGISNULL(1) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(1));
  bool force = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
  Run* run = begin_run(kSessionListPolicy, fcinfo, tier, force);
  given_sessions(run, ids, n);
  // Phases 2 and 3: the run driver, as for a batch.
  drive(run);
  const char* json = MemoryContextStrdup(caller, status_json(run));
  end_run(run);
  return outcome_row(json);
}
