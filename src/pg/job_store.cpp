// Every read and write of trajc.jobs (see job_store.hpp). Each function
// connects to SPI itself (nested inside a run's connection when the run
// reports progress) and leaves the caller's memory context current.
//
// Must never: switch to the owner around anything but one of the fixed
// queries below, or splice a value into their text.
#include "job_store.hpp"

#include "job_queue.hpp"
#include "spi_util.hpp"

namespace trajc_pg {

namespace {

using trajc::JobStatus;

Oid jobs_relid(bool missing_ok) {
  Oid schema = get_namespace_oid("trajc", missing_ok);
  Oid relid = OidIsValid(schema) ? get_relname_relid("jobs", schema) : InvalidOid;
  if (!OidIsValid(relid) && !missing_ok)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("trajc.jobs does not exist"),
                    errhint("Background jobs need trajc 0.2.0: ALTER EXTENSION trajc UPDATE.")));
  return relid;
}

Oid jobs_owner(void) {
  HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(jobs_relid(false)));
  if (!HeapTupleIsValid(tuple)) elog(ERROR, "trajc: cache lookup failed for trajc.jobs");
  Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
  ReleaseSysCache(tuple);
  return owner;
}

// The rights a write runs with. Restored by the matching as_caller(), or by
// the (sub)transaction's abort if a query raises in between.
struct Rights {
  Oid user;
  int security;
  int guc_level;
};

// As the owner of trajc.jobs, in a security-restricted operation, with
// search_path = pg_catalog, pg_temp: as Postgres runs index expressions.
Rights as_owner(void) {
  Rights saved;
  GetUserIdAndSecContext(&saved.user, &saved.security);
  SetUserIdAndSecContext(jobs_owner(), saved.security | SECURITY_LOCAL_USERID_CHANGE |
                                           SECURITY_RESTRICTED_OPERATION);
  saved.guc_level = NewGUCNestLevel();
  (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                          GUC_ACTION_SAVE, true, 0, false);
  return saved;
}

void as_caller(const Rights& saved) {
  AtEOXact_GUC(false, saved.guc_level);
  SetUserIdAndSecContext(saved.user, saved.security);
}

// One fixed query as the owner, checked; returns SPI_processed. Rows stay in
// SPI_tuptable until SPI_finish.
uint64 owner_query(const char* sql, int nargs, Oid* types, Datum* values, const char* nulls,
                   int expected, const char* what) {
  Rights saved = as_owner();
  int rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
  as_caller(saved);
  spi_check(rc, expected, what);
  return SPI_processed;
}

void spi_done(MemoryContext caller) {
  SPI_finish();
  MemoryContextSwitchTo(caller);
}

constexpr JobStatus kAllStatuses[] = {JobStatus::Queued, JobStatus::Running, JobStatus::Done,
                                      JobStatus::Failed, JobStatus::Cancelled};

// The statuses for which `keep` holds, as a text[] for `= ANY`.
template <typename Keep>
Datum statuses_where(Keep keep) {
  Datum names[std::size(kAllStatuses)];
  int n = 0;
  for (JobStatus s : kAllStatuses)
    if (keep(s)) names[n++] = CStringGetTextDatum(trajc::job_status_name(s));
  return PointerGetDatum(construct_array_builtin(names, n, TEXTOID));
}

// The statuses a job may move from to reach `to`.
Datum sources_of(JobStatus to) {
  return statuses_where([to](JobStatus from) { return trajc::job_may_become(from, to); });
}

Datum status_datum(JobStatus s) { return CStringGetTextDatum(trajc::job_status_name(s)); }

// Moves the job to `to` from any status that may become it, setting `sets`
// too ($1 id, $2 the new status, $3 the sources, then `extra` values).
bool move_job(int64 id, JobStatus to, const char* sets, int nextra, Oid* extra_types,
              Datum* extra_values, const char* extra_nulls, const char* what) {
  Oid types[5] = {INT8OID, TEXTOID, TEXTARRAYOID};
  Datum values[5] = {Int64GetDatum(id), status_datum(to), sources_of(to)};
  char nulls[5] = {' ', ' ', ' '};
  for (int i = 0; i < nextra; i++) {
    types[3 + i] = extra_types[i];
    values[3 + i] = extra_values[i];
    nulls[3 + i] = extra_nulls[i];
  }
  const char* sql = psprintf(
      "UPDATE trajc.jobs SET status = $2%s WHERE id = $1 AND status = ANY ($3)",
      sets);
  MemoryContext caller = CurrentMemoryContext;
  spi_connect();
  bool moved = owner_query(sql, 3 + nextra, types, values, nulls, SPI_OK_UPDATE, what) == 1;
  spi_done(caller);
  return moved;
}

constexpr const char* kSettingsSnapshot =
    "SELECT pg_catalog.jsonb_object_agg(name, setting) FROM pg_catalog.pg_settings"
    " WHERE (name LIKE 'trajc.%' AND context = 'user') OR name = 'search_path'";

constexpr const char* kInsertJob =
    "INSERT INTO trajc.jobs (role, database, args, settings)"
    " VALUES ($1, pg_catalog.current_database(),"
    "         pg_catalog.jsonb_build_object('min_turns', $2, 'limit', $3, 'tier', $4), $5)"
    " RETURNING id";

}  // namespace

bool jobs_table_exists(void) { return OidIsValid(jobs_relid(true)); }

int64 insert_job(Oid role, int min_turns, int limit, const char* tier) {
  MemoryContext caller = CurrentMemoryContext;
  spi_connect();
  // With the caller's rights and search_path: the settings of this moment.
  spi_check(SPI_execute(kSettingsSnapshot, true, 1), SPI_OK_SELECT, "reading the settings");
  bool isnull = false;
  Datum settings = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
  Oid types[5] = {REGROLEOID, INT4OID, INT4OID, TEXTOID, JSONBOID};
  Datum values[5] = {ObjectIdGetDatum(role), Int32GetDatum(min_turns), Int32GetDatum(limit),
                     tier != nullptr ? CStringGetTextDatum(tier) : (Datum)0, settings};
  const char nulls[5] = {' ', ' ', ' ', tier != nullptr ? ' ' : 'n', isnull ? 'n' : ' '};
  owner_query(kInsertJob, 5, types, values, nulls, SPI_OK_INSERT_RETURNING, "recording the job");
  int64 id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  spi_done(caller);
  return id;
}

bool find_job(int64 id, Oid* role, JobStatus* status) {
  MemoryContext caller = CurrentMemoryContext;
  spi_connect();
  Oid types[1] = {INT8OID};
  Datum values[1] = {Int64GetDatum(id)};
  const bool found =
      owner_query("SELECT role::pg_catalog.oid, status FROM trajc.jobs WHERE id = $1", 1, types,
                  values, nullptr, SPI_OK_SELECT, "reading the job") == 1;
  if (found) {
    bool isnull = false;
    HeapTuple row = SPI_tuptable->vals[0];
    *role = DatumGetObjectId(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
    const char* name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
    std::optional<JobStatus> parsed = trajc::parse_job_status(name);
    if (!parsed) elog(ERROR, "trajc: job %lld has an unknown status", static_cast<long long>(id));
    *status = *parsed;
  }
  spi_done(caller);
  return found;
}

bool cancel_queued_job(int64 id) {
  MemoryContext caller = CurrentMemoryContext;
  spi_connect();
  Oid types[2] = {INT8OID, TEXTOID};
  Datum values[2] = {Int64GetDatum(id), status_datum(JobStatus::Cancelled)};
  const bool cancelled =
      owner_query("UPDATE trajc.jobs SET status = $2, finished_at = pg_catalog.clock_timestamp()"
                  " WHERE id = $1 AND status = 'queued'",
                  2, types, values, nullptr, SPI_OK_UPDATE, "cancelling the job") == 1;
  spi_done(caller);
  return cancelled;
}

JobSpec* load_queued_job(int64 id, MemoryContext cxt) {
  MemoryContext caller = CurrentMemoryContext;
  spi_connect();
  Oid types[1] = {INT8OID};
  Datum values[1] = {Int64GetDatum(id)};
  JobSpec* spec = nullptr;
  if (owner_query("SELECT (args->>'min_turns')::pg_catalog.int4, (args->>'limit')::pg_catalog.int4,"
                  " args->>'tier' FROM trajc.jobs WHERE id = $1 AND status = 'queued'",
                  1, types, values, nullptr, SPI_OK_SELECT, "reading the job") == 1) {
    HeapTuple row = SPI_tuptable->vals[0];
    TupleDesc desc = SPI_tuptable->tupdesc;
    bool isnull = false;
    spec = static_cast<JobSpec*>(MemoryContextAllocZero(cxt, sizeof(JobSpec)));
    spec->id = id;
    spec->min_turns = DatumGetInt32(SPI_getbinval(row, desc, 1, &isnull));
    spec->limit = DatumGetInt32(SPI_getbinval(row, desc, 2, &isnull));
    const char* tier = SPI_getvalue(row, desc, 3);
    spec->tier = tier != nullptr ? MemoryContextStrdup(cxt, tier) : nullptr;
    owner_query("SELECT s.key, s.value FROM trajc.jobs j,"
                " pg_catalog.jsonb_each_text(j.settings) s WHERE j.id = $1 ORDER BY s.key",
                1, types, values, nullptr, SPI_OK_SELECT, "reading the job's settings");
    spec->nsettings = static_cast<int>(SPI_processed);
    spec->setting_names = static_cast<const char**>(
        MemoryContextAllocZero(cxt, sizeof(char*) * (SPI_processed + 1)));
    spec->setting_values = static_cast<const char**>(
        MemoryContextAllocZero(cxt, sizeof(char*) * (SPI_processed + 1)));
    for (uint64 i = 0; i < SPI_processed; i++) {
      const char* value = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
      spec->setting_names[i] =
          MemoryContextStrdup(cxt, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
      spec->setting_values[i] = MemoryContextStrdup(cxt, value != nullptr ? value : "");
    }
  }
  spi_done(caller);
  return spec;
}

bool mark_running(int64 id) {
  Oid types[1] = {INT4OID};
  Datum values[1] = {Int32GetDatum(MyProcPid)};
  return move_job(id, JobStatus::Running, ", started_at = pg_catalog.clock_timestamp(), pid = $4",
                  1, types, values, " ", "starting the job");
}

void record_progress(int64 id, const RunTotals& t) {
  MemoryContext caller = CurrentMemoryContext;
  spi_connect();
  Oid types[5] = {INT8OID, INT4OID, INT4OID, INT4OID, FLOAT8OID};
  Datum values[5] = {Int64GetDatum(id), Int32GetDatum(t.sessions),
                     Int32GetDatum(t.ok + t.empty + t.failed + t.skipped), Int32GetDatum(t.pairs),
                     Float8GetDatum(t.cost_usd)};
  owner_query("UPDATE trajc.jobs SET sessions_total = $2, sessions_done = $3, pairs = $4,"
              " cost_usd = $5::pg_catalog.numeric WHERE id = $1",
              5, types, values, nullptr, SPI_OK_UPDATE, "recording the job's progress");
  spi_done(caller);
}

bool record_end(int64 id, JobStatus status, const char* error) {
  Oid types[1] = {TEXTOID};
  Datum values[1] = {error != nullptr ? CStringGetTextDatum(error) : (Datum)0};
  return move_job(id, status, ", finished_at = pg_catalog.clock_timestamp(), error = $4", 1,
                  types, values, error != nullptr ? " " : "n", "recording the job's end");
}

int reconcile_jobs(void) {
  MemoryContext caller = CurrentMemoryContext;
  spi_connect();
  // First the live rows (every one was committed, so its slot was taken
  // before this snapshot), then their slots: a job that ends meanwhile frees
  // its slot only after its row says so, which the UPDATE then sees.
  Datum live = statuses_where(trajc::job_is_live);
  Oid types[2] = {TEXTARRAYOID, TEXTOID};
  Datum values[2] = {live, (Datum)0};
  const uint64 nlive = owner_query("SELECT id FROM trajc.jobs WHERE status = ANY ($1)", 1, types,
                                   values, nullptr, SPI_OK_SELECT, "listing live jobs");
  Datum* lost = static_cast<Datum*>(palloc(sizeof(Datum) * (nlive + 1)));
  int nlost = 0;
  for (uint64 i = 0; i < nlive; i++) {
    bool isnull = false;
    HeapTuple row = SPI_tuptable->vals[i];
    int64 id = DatumGetInt64(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
    if (!job_has_slot(MyDatabaseId, id)) lost[nlost++] = Int64GetDatum(id);
  }
  uint64 marked = 0;
  if (nlost > 0) {
    Oid utypes[4] = {INT8ARRAYOID, TEXTOID, TEXTARRAYOID, TEXTOID};
    Datum uvalues[4] = {PointerGetDatum(construct_array_builtin(lost, nlost, INT8OID)),
                        status_datum(JobStatus::Failed), live,
                        CStringGetTextDatum(trajc::kJobInterrupted)};
    marked = owner_query(
        "UPDATE trajc.jobs SET status = $2, finished_at = pg_catalog.clock_timestamp(), error = $4"
        " WHERE id IN (SELECT id FROM trajc.jobs WHERE id = ANY ($1) AND status = ANY ($3)"
        "              FOR UPDATE SKIP LOCKED)",
        4, utypes, uvalues, nullptr, SPI_OK_UPDATE, "marking interrupted jobs");
  }
  spi_done(caller);
  return static_cast<int>(marked);
}

}  // namespace trajc_pg
