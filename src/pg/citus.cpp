// trajc on a Citus cluster: the compile entry points' side of it. The node a
// batch is called on hands it to trajc.citus_fan_out (SQL: list node by node,
// group by the node holding each session, call every node at once; a node
// that cannot be reached costs only its own part); each node runs its
// share in CALL trajc.compile_sessions (here), with the ordinary run driver.
// Everything about Citus itself (catalogs, master_run_on_worker) stays in
// the extension's SQL, so this file builds and runs without Citus.
//
// Must never: apply a setting that is not a user-level one (keys and base
// URLs are superuser settings: each node keeps its own), or compile a
// session whose shard is on another node.
#include "citus.hpp"

#include "audit_source.hpp"
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

RunTotals citus_fan_out(ReturnSetInfo* rsinfo, int min_turns, int limit, const char* tier,
                        bool force) {
  RunTotals totals{};
  MemoryContext caller = CurrentMemoryContext;
  // Bad arguments and a bad trajc.source fail here, as on one server, not as
  // a failure of every node.
  check_listing_args(min_turns, limit);
  spi_connect();
  (void)resolve_audit_source();
  Oid types[4] = {INT4OID, INT4OID, TEXTOID, BOOLOID};
  Datum args[4] = {Int32GetDatum(min_turns), Int32GetDatum(limit),
                   tier != nullptr ? CStringGetTextDatum(tier) : (Datum)0, BoolGetDatum(force)};
  char nulls[4] = {' ', ' ', tier != nullptr ? ' ' : 'n', ' '};
  spi_check(SPI_execute_with_args("SELECT * FROM trajc.citus_fan_out($1, $2, $3, $4)", 4, types,
                                  args, nulls, false, 0),
            SPI_OK_SELECT, "fanning the batch out to the Citus nodes");
  totals.sessions = static_cast<int>(SPI_processed);
  StringInfoData failures;
  initStringInfo(&failures);
  for (uint64 i = 0; i < SPI_processed; i++) {
    HeapTuple row = SPI_tuptable->vals[i];
    TupleDesc desc = SPI_tuptable->tupdesc;
    Datum values[7];
    bool isnull[7];
    for (int c = 0; c < 7; c++) values[c] = SPI_getbinval(row, desc, c + 1, &isnull[c]);
    add_status(&totals, SPI_getvalue(row, desc, 2), DatumGetInt32(values[2]),
               DatumGetFloat8(DirectFunctionCall1(numeric_float8, values[4])));
    // A node's failure is the same text on each of its sessions' rows: once.
    const char* error = SPI_getvalue(row, desc, 6);
    if (DatumGetBool(values[6]) && strstr(failures.data, error) == nullptr)
      appendStringInfo(&failures, "%s%s", failures.len > 0 ? "; " : "", error);
    // The batch's columns are the first six.
    if (rsinfo != nullptr)
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
  }
  if (failures.len > 0) totals.node_failures = MemoryContextStrdup(caller, failures.data);
  SPI_finish();
  return totals;
}

RunTotals compile_pending_work(FunctionCallInfo fcinfo, int min_turns, int limit,
                               const char* tier, RunObserver observer, void* arg) {
  if (citus_distributed()) {
    // Each node commits its sessions as it goes; they all come back at once
    // (master_run_on_worker waits for every node), so that is when an
    // observer learns of them.
    const RunTotals totals = citus_fan_out(nullptr, min_turns, limit, tier, false);
    if (observer != nullptr) observer(totals, arg);
    return totals;
  }
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
