// The job launcher: one background worker per server, registered at
// preload, connected to no database (it only reads pg_database). It starts
// a job worker for the oldest queued job whenever fewer than trajc.max_jobs
// run, and a sweep worker for each database whose jobs may have been
// interrupted: every database when it starts (a server start, or a restart
// after a crash, which re-created the queue), and the database of any job
// whose worker ended without recording the job's end.
//
// Which databases: a worker can only ever connect to one, so the launcher
// lists pg_database (every database that allows connections and is not a
// template: a connection to template1 would make CREATE DATABASE fail) and
// sweeps them one at a time; a database without trajc costs one short
// connection at server start.
//
// It sleeps on its latch: trajc_start's commit, a worker's exit, a
// cancelled queued job and SIGHUP (trajc.max_jobs) wake it; a timeout
// retries what could not start for want of a background worker slot.
//
// Must never: run a job itself, connect to a database, or exit with code 0
// (the postmaster would not start it again).
#include "job_launcher.hpp"

#include "guc.hpp"
#include "job_queue.hpp"

extern "C" {
PGDLLEXPORT void trajc_launcher_main(Datum arg);
}

namespace trajc_pg {

namespace {

constexpr int kLauncherRestartSeconds = 5;
constexpr long kNapMs = 1000;

// Launcher-local: the workers it started and has not seen stop. Plain data.
struct Started {
  BackgroundWorkerHandle* handle;
  JobRef ref;
};
Started started[trajc::defaults::kJobQueueCapacity];
BackgroundWorkerHandle* sweeping;  // the sweep worker running, if any
List* databases_to_sweep;          // of Oid, in launcher_cxt
MemoryContext launcher_cxt;
bool warned_no_slot;

BackgroundWorker worker_template(const char* function, const char* name, int restart) {
  BackgroundWorker w;
  memset(&w, 0, sizeof w);
  w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  w.bgw_start_time = BgWorkerStart_RecoveryFinished;
  w.bgw_restart_time = restart;
  strlcpy(w.bgw_library_name, "trajc", BGW_MAXLEN);
  strlcpy(w.bgw_function_name, function, BGW_MAXLEN);
  strlcpy(w.bgw_name, name, BGW_MAXLEN);
  strlcpy(w.bgw_type, name, BGW_MAXLEN);
  return w;
}

// Every database a worker may connect to, but the templates.
List* list_databases(void) {
  List* out = NIL;
  StartTransactionCommand();
  Relation rel = table_open(DatabaseRelationId, AccessShareLock);
  TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
  for (HeapTuple tuple; HeapTupleIsValid(tuple = heap_getnext(scan, ForwardScanDirection));) {
    auto* db = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
    if (!db->datallowconn || db->datistemplate) continue;
    MemoryContext caller = MemoryContextSwitchTo(launcher_cxt);
    out = lappend_oid(out, db->oid);
    MemoryContextSwitchTo(caller);
  }
  table_endscan(scan);
  table_close(rel, AccessShareLock);
  CommitTransactionCommand();
  return out;
}

bool worker_stopped(BackgroundWorkerHandle* handle) {
  pid_t pid;
  return GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED;
}

// Workers that stopped: one that never took its job leaves it to a sweep.
void collect_stopped_workers(void) {
  for (Started& s : started) {
    if (s.handle == nullptr || !worker_stopped(s.handle)) continue;
    if (abandon_if_never_started(s.ref))
      ereport(LOG, (errmsg("trajc: a job worker stopped before it started its job")));
    pfree(s.handle);
    s.handle = nullptr;
  }
}

void start_jobs(void) {
  JobRef ref;
  while (next_job_to_start(gucs.max_jobs, &ref)) {
    BackgroundWorker w = worker_template("trajc_job_main", "trajc job", BGW_NEVER_RESTART);
    w.bgw_main_arg = Int32GetDatum(ref.slot);
    memcpy(w.bgw_extra, &ref, sizeof ref);
    w.bgw_notify_pid = MyProcPid;
    BackgroundWorkerHandle* handle = nullptr;
    if (!RegisterDynamicBackgroundWorker(&w, &handle)) {
      unstart_job(ref);  // first in line again; retried after the nap
      if (!warned_no_slot)
        ereport(WARNING, (errmsg("trajc: no background worker slot free; queued jobs wait"),
                          errhint("Raise max_worker_processes.")));
      warned_no_slot = true;
      return;
    }
    warned_no_slot = false;
    Started& s = started[ref.slot];
    if (s.handle != nullptr) pfree(s.handle);
    s = Started{handle, ref};
  }
}

// One sweep worker at a time, over the databases asked for.
void continue_sweeps(void) {
  if (sweeping != nullptr) {
    if (!worker_stopped(sweeping)) return;
    pfree(sweeping);
    sweeping = nullptr;
  }
  Oid database = InvalidOid;
  bool all = false;
  while (next_sweep(&database, &all)) {
    if (all) {
      list_free(databases_to_sweep);
      databases_to_sweep = list_databases();
    } else if (!list_member_oid(databases_to_sweep, database)) {
      MemoryContext caller = MemoryContextSwitchTo(launcher_cxt);
      databases_to_sweep = lappend_oid(databases_to_sweep, database);
      MemoryContextSwitchTo(caller);
    }
  }
  if (databases_to_sweep == NIL) return;
  BackgroundWorker w = worker_template("trajc_sweep_main", "trajc job sweep", BGW_NEVER_RESTART);
  w.bgw_main_arg = ObjectIdGetDatum(linitial_oid(databases_to_sweep));
  w.bgw_notify_pid = MyProcPid;
  if (RegisterDynamicBackgroundWorker(&w, &sweeping))  // else: retried after the nap
    databases_to_sweep = list_delete_first(databases_to_sweep);
}

}  // namespace

void init_background_jobs(void) {
  if (!process_shared_preload_libraries_in_progress) return;
  job_queue_request_shmem();
  BackgroundWorker w =
      worker_template("trajc_launcher_main", "trajc job launcher", kLauncherRestartSeconds);
  RegisterBackgroundWorker(&w);
}

}  // namespace trajc_pg

using namespace trajc_pg;

extern "C" void trajc_launcher_main(Datum) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);  // shared catalogs only
  launcher_cxt = AllocSetContextCreate(TopMemoryContext, "trajc launcher", ALLOCSET_SMALL_SIZES);
  MemoryContextSwitchTo(launcher_cxt);
  launcher_attach();
  while (!ShutdownRequestPending) {
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
    collect_stopped_workers();
    start_jobs();
    continue_sweeps();
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, kNapMs,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
  proc_exit(1);  // restarted after kLauncherRestartSeconds unless the server is stopping
}
