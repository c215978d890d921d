// trajc.jobs: every write to it, and the reads trajc_cancel and the worker
// need (as pg_cron keeps every write to its tables in one file).
//
// Roles only read trajc.jobs, and row-level security shows each role the
// jobs of the roles it is a member of. Every write is the extension's: it
// runs as the table's owner, with search_path pinned to pg_catalog, so a role
// needs no INSERT or UPDATE privilege and cannot forge a job or its progress.
// Reads made for a role's decision (trajc_cancel) run as the owner too, and
// the caller checks membership itself.
//
// Must never: store a key (only settings every role may set are kept, see
// insert_job), run a query with the owner's rights that a role's settings or
// objects could steer (no search_path but pg_catalog, everything qualified),
// or move a job along an arrow trajc/job_state.hpp does not draw.
#pragma once

#include "pg_boundary.hpp"
#include "run.hpp"
#include "trajc/job_state.hpp"

namespace trajc_pg {

// A job as its worker runs it: trajc_compile_pending's arguments and the
// starting role's settings of that moment, (name, value) pairs to SET.
struct JobSpec {
  int64 id;
  int min_turns;
  int limit;
  const char* tier;  // NULL = the trajc.tier setting
  int nsettings;
  const char** setting_names;
  const char** setting_values;
};

// Whether this database has trajc.jobs (trajc 0.2.0 or later).
bool jobs_table_exists(void);

// trajc_start: a queued row for `role` in this database with the arguments,
// and a snapshot of the caller's settings: every trajc.* setting a role may
// SET (context 'user') and search_path. Keys and base URLs are server
// settings, read by the worker itself, never stored. Returns its id.
int64 insert_job(Oid role, int min_turns, int limit, const char* tier);

// trajc_cancel: the job's role and status; false if there is no such job.
bool find_job(int64 id, Oid* role, trajc::JobStatus* status);
// Queued -> cancelled, in the caller's transaction; false if it no longer was queued.
bool cancel_queued_job(int64 id);

// The worker: the job if it is still queued (NULL otherwise), in `cxt`.
JobSpec* load_queued_job(int64 id, MemoryContext cxt);
// Queued -> running, with this process's pid; false if it no longer was queued.
bool mark_running(int64 id);
// The run's totals so far (sessions listed, handled, pairs, cost); made in
// the transaction that stores the session, so they commit with it.
void record_progress(int64 id, const RunTotals& totals);
// The job's end; `error` NULL for none. False if the job had already ended.
bool record_end(int64 id, trajc::JobStatus status, const char* error);

// Live rows of this database whose job has no slot in the shared queue (the
// server restarted or crashed, or the worker died) become failed with
// trajc::kJobInterrupted. Rows another transaction holds are left for the
// next time. Returns how many were marked.
int reconcile_jobs(void);

}  // namespace trajc_pg
