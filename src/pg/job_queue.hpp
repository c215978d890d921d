// The server-wide queue of background jobs, in shared memory: one slot per
// job that is reserved (its trajc_start has not committed yet), queued,
// starting or running, in any database. trajc.max_jobs counts the whole
// server, so the queue cannot live in any one database's trajc.jobs table.
//
// A job row in trajc.jobs is live (queued or running) exactly while its slot
// is taken: a live row without a slot was interrupted (a restart, a crash, a
// worker that died) and is marked failed by whoever reconciles that database
// (job_store.cpp). A slot is taken before its row is inserted and freed only
// after the worker has recorded the job's end, so a live row never lacks a
// slot while its job is alive.
//
// Who moves a slot: trajc_start reserves it and its commit queues it (or its
// abort frees it); the launcher starts queued jobs while fewer than
// trajc.max_jobs run; the worker marks it running, and frees it on exit.
//
// Must never: hold the lock across SPI, ereport(ERROR) or an allocation, or
// be used without the preload (shared memory is sized at server start:
// callers check job_queue_available() first).
#pragma once

#include "pg_boundary.hpp"

namespace trajc_pg {

// One use of one slot: the slot's index and the sequence number it got then,
// so that a stale reference (the slot was freed and reused) is recognised.
struct JobRef {
  int slot;
  uint64 seq;
};

// What a worker needs from its slot.
struct JobTarget {
  Oid database;
  Oid role;
  int64 job_id;
};

// _PG_init while preloading: asks for the shared memory and its lock.
void job_queue_request_shmem(void);
// Whether the queue exists: false when trajc was not preloaded.
bool job_queue_available(void);

// ---- trajc_start and trajc_cancel (a backend) --------------------------------
// A slot for a job of this database run by `role`, taken before its row is
// inserted; ERROR 53400 when every slot is taken. Freed if this backend exits.
JobRef reserve_job(Oid role);
void set_job_id(JobRef ref, int64 job_id);
// At commit: the job may start. At abort: the slot is free again.
void queue_job(JobRef ref);
void release_reservation(JobRef ref);
// At commit of trajc_cancel: a queued job is dropped from the queue, a
// starting or running one is flagged and its worker interrupted (SIGINT).
void cancel_job(Oid database, int64 job_id);
// Whether the job has a slot (is alive). For reconciling rows.
bool job_has_slot(Oid database, int64 job_id);

// ---- the launcher ----------------------------------------------------------------
void launcher_attach(void);  // it is the one to wake from now on (detached at exit)
void wake_launcher(void);
// The oldest queued job, marked starting, if fewer than max_jobs are starting
// or running; queued jobs cancelled meanwhile are freed on the way.
bool next_job_to_start(int max_jobs, JobRef* ref);
// Its worker could not be registered: queued again, first in line.
void unstart_job(JobRef ref);
// Its worker stopped without ever taking the slot (it never ran): freed, and
// its database is to be reconciled. False if the worker did take it.
bool abandon_if_never_started(JobRef ref);
// Databases whose jobs must be reconciled: one at a time; all_databases is
// set when more were asked for than the queue holds.
bool next_sweep(Oid* database, bool* all_databases);

// ---- the worker ------------------------------------------------------------------
// Starting -> running under this process. False if the reference is stale.
bool take_job(JobRef ref, JobTarget* target);
// Logged in: from now on a cancel interrupts it (before, it would make the
// login fail; the worker checks job_cancel_requested before it runs).
void job_connected(JobRef ref);
bool job_cancel_requested(JobRef ref);
// The job's end is recorded in its row.
void job_finished(JobRef ref);
// On exit: the slot is free; if the end was never recorded, the job's
// database is to be reconciled. Wakes the launcher either way.
void leave_job(JobRef ref);

}  // namespace trajc_pg
