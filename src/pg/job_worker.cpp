// The background workers the launcher starts:
//
// - a job worker runs one job: it logs in to the job's database as the role
//   that started it (never as anyone else), SETs the settings recorded at
//   trajc_start, and runs the work of CALL trajc_compile_pending(...) through
//   the same code (compile_pending_work: the run driver, committing after
//   each session together with the job's progress; on a distributed trajc
//   the same fan-out to the nodes holding the sessions, in rounds, with the
//   progress committed after the listing and each round); then it records how
//   the job ended (on Citus, a done job's error names the nodes whose share
//   failed, and why).
// - a sweep worker reconciles one database: live jobs there without a slot
//   in the shared queue were interrupted, and become failed.
//
// A trajc_cancel interrupts a job worker with SIGINT, as pg_cancel_backend
// would: the run driver's cancel check stops the requests in flight and the
// run ends with the usual 57014 error, which makes the job cancelled. On a
// distributed trajc the cancel ends the fan-out's wait; each node's share
// stops within a second of its connection closing (docs/citus.md).
// SIGTERM (shutdown, pg_terminate_backend) ends the worker at the next
// interrupt check without recording anything: its job is then interrupted,
// and reconciled as failed.
//
// Must never: run as a role other than the job's, apply a setting the job
// row did not record, or raise while recording the job's end (interrupts are
// held: an error there would lose the end).
#include "citus.hpp"
#include "cpp_call.hpp"
#include "job_queue.hpp"
#include "job_store.hpp"

extern "C" {
PGDLLEXPORT void trajc_job_main(Datum arg);
PGDLLEXPORT void trajc_sweep_main(Datum arg);
}

using namespace trajc_pg;

namespace {

// This process's job: plain data at namespace scope, read after a longjmp.
JobRef my_job;
int64 my_job_id;
Portal run_portal;

void leave_at_exit(int, Datum) { leave_job(my_job); }

void progress(const RunTotals& totals, void*) { record_progress(my_job_id, totals); }

// The portal the run lives in: what a top-level CALL's portal gives a
// procedure, a memory context that survives its commits (PortalContext) and
// the snapshot SPI takes again after each (ActivePortal).
void open_run_portal(void) {
  Portal portal = CreatePortal("trajc job", false, false);
  portal->visible = false;
  PortalDefineQuery(portal, nullptr, "CALL trajc_compile_pending(...) (trajc job)", CMDTAG_CALL,
                    NIL, nullptr);
  PortalStart(portal, nullptr, 0, InvalidSnapshot);
  MarkPortalActive(portal);
  ActivePortal = portal;
  PortalContext = portal->portalContext;
  run_portal = portal;
}

// Drops it, with the run's memory (and the core objects boxed there).
void close_run_portal(bool failed) {
  if (run_portal == nullptr) return;
  if (failed) {
    MarkPortalFailed(run_portal);
  } else {
    ForgetPortalSnapshots();
    MarkPortalDone(run_portal);
  }
  ActivePortal = nullptr;
  PortalContext = nullptr;
  PortalDrop(run_portal, false);
  run_portal = nullptr;
}

// What insert_job records: trajc.* settings and search_path, nothing else.
bool is_job_setting(const char* name) {
  return strncmp(name, "trajc.", 6) == 0 || strcmp(name, "search_path") == 0;
}

// The settings of trajc_start's moment, for the rest of this session, with
// the rights of the job's role (a setting it may not SET fails the job).
void apply_settings(const JobSpec* spec) {
  for (int i = 0; i < spec->nsettings; i++) {
    if (!is_job_setting(spec->setting_names[i]))
      ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                      errmsg("trajc job %lld records a setting it may not apply: \"%s\"",
                             static_cast<long long>(spec->id), spec->setting_names[i])));
    (void)set_config_option(spec->setting_names[i], spec->setting_values[i], PGC_USERSET,
                            PGC_S_SESSION, GUC_ACTION_SET, true, ERROR, false);
  }
}

// One transaction: stale jobs of this database reconciled, this job loaded,
// its settings applied and its row marked running. NULL if it is no longer
// queued (cancelled or deleted meanwhile).
JobSpec* begin_job(MemoryContext cxt) {
  SetCurrentStatementStartTimestamp();  // now() of the job's own transactions
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  reconcile_jobs();
  JobSpec* spec = load_queued_job(my_job_id, cxt);
  if (spec != nullptr) {
    apply_settings(spec);
    if (!mark_running(my_job_id)) spec = nullptr;
  }
  PopActiveSnapshot();
  CommitTransactionCommand();
  return spec;
}

// CALL trajc_compile_pending(min_turns, limit, tier)'s run, with progress.
// Returns, in `cxt`, the Citus nodes whose share failed and why (NULL: none):
// the job still ends done, as on one server when sessions fail, but its row
// says so instead of leaving it to the server log.
char* run_pending(const JobSpec* spec, MemoryContext cxt) {
  // pg_stat_activity shows what the worker runs, as it shows a CALL.
  pgstat_report_activity(
      STATE_RUNNING, psprintf("trajc job %lld: trajc_compile_pending(%d, %d, %s)",
                              static_cast<long long>(my_job_id), spec->min_turns, spec->limit,
                              spec->tier != nullptr ? quote_literal_cstr(spec->tier) : "NULL"));
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  open_run_portal();
  // The procedure's own work (on Citus, its fan-out to the nodes).
  const RunTotals totals =
      compile_pending_work(nullptr, spec->min_turns, spec->limit, spec->tier, progress, nullptr);
  char* failures = totals.node_failures != nullptr
                       ? MemoryContextStrdup(cxt, totals.node_failures)
                       : nullptr;
  close_run_portal(false);
  CommitTransactionCommand();
  pgstat_report_activity(STATE_IDLE, nullptr);
  return failures;
}

// How the job ended, recorded in a transaction of its own.
void record_outcome(trajc::JobStatus status, const char* error) {
  HOLD_INTERRUPTS();
  QueryCancelPending = false;  // a late trajc_cancel: the job has ended anyway
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  (void)record_end(my_job_id, status, error);
  PopActiveSnapshot();
  CommitTransactionCommand();
  RESUME_INTERRUPTS();
}

void run_job(void) {
  MemoryContext job_cxt =
      AllocSetContextCreate(TopMemoryContext, "trajc job", ALLOCSET_SMALL_SIZES);
  JobSpec* volatile spec = nullptr;
  volatile bool ran = false;
  char* volatile node_failures = nullptr;
  ErrorData* volatile error = nullptr;
  PG_TRY();
  {
    spec = begin_job(job_cxt);
    if (spec != nullptr && !job_cancel_requested(my_job)) {
      node_failures = run_pending(spec, job_cxt);
      ran = true;
    }
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(job_cxt);
    EmitErrorReport();  // the server log has it as it has any backend's error
    error = CopyErrorData();
    FlushErrorState();
  }
  PG_END_TRY();
  if (error != nullptr) {
    AbortCurrentTransaction();
    close_run_portal(true);
  }
  if (error == nullptr && spec == nullptr) return;  // no longer queued: nothing to record
  const bool asked = job_cancel_requested(my_job);
  trajc::JobStatus status = ran ? trajc::JobStatus::Done : trajc::JobStatus::Cancelled;
  const char* message = ran ? node_failures : nullptr;
  if (error != nullptr) {
    status = trajc::job_outcome(true, asked, error->sqlerrcode == ERRCODE_QUERY_CANCELED);
    // trajc_cancel's own cancel needs no explanation; anything else does.
    if (!(status == trajc::JobStatus::Cancelled && asked)) message = error->message;
  }
  record_outcome(status, message);
}

}  // namespace

extern "C" void trajc_job_main(Datum) {
  memcpy(&my_job, MyBgworkerEntry->bgw_extra, sizeof my_job);
  on_shmem_exit(leave_at_exit, 0);
  // die() only flags: the worker leaves at its next interrupt check, never
  // from inside a signal handler in the middle of a C++ call or of curl.
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  JobTarget target;
  if (!take_job(my_job, &target)) proc_exit(0);
  my_job_id = target.job_id;
  BackgroundWorkerInitializeConnectionByOid(target.database, target.role, 0);
  job_connected(my_job);
  pgstat_report_appname(psprintf("trajc job %lld", static_cast<long long>(my_job_id)));
  run_job();
  job_finished(my_job);
  proc_exit(0);
}

extern "C" void trajc_sweep_main(Datum arg) {
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  // As the bootstrap superuser: it runs only reconcile_jobs' fixed queries.
  BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  if (OidIsValid(get_extension_oid("trajc", true)) && jobs_table_exists()) {
    const int marked = reconcile_jobs();
    if (marked > 0)
      ereport(LOG, (errmsg("trajc: %d interrupted job(s) in database \"%s\" marked failed", marked,
                           get_database_name(MyDatabaseId))));
  }
  PopActiveSnapshot();
  CommitTransactionCommand();
  proc_exit(0);
}
