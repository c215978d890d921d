// The shared-memory job queue (see job_queue.hpp): its slots, the lock that
// guards them, and every move of a slot from one state to the next.
//
// Must never: raise or allocate while holding the lock, signal a process
// other than the worker recorded in a slot, or outlive a crash (the
// postmaster re-creates shared memory, which frees every slot: the rows
// those jobs left live are then reconciled as interrupted).
#include "job_queue.hpp"

namespace trajc_pg {

namespace {

constexpr const char* kTranche = "trajc jobs";
constexpr int kSweepRequests = 32;

enum class SlotState : uint8 {
  Free,
  Reserved,  // trajc_start ran; its transaction has not ended
  Queued,    // committed; waiting for a free place under trajc.max_jobs
  Starting,  // the launcher registered its worker
  Running,   // the worker took it
};

struct Slot {
  SlotState state;
  bool cancel;    // trajc_cancel committed
  bool finished;  // the worker recorded the job's end in its row
  bool connected;  // the worker is logged in: a SIGINT is a query cancel now
  uint64 seq;     // this use of the slot; also the queue order once queued
  Oid database;
  Oid role;
  int64 job_id;     // 0 until its row is inserted
  pid_t reserver;   // the backend whose transaction holds a reservation
  pid_t worker;     // the worker process, once running
};

struct Queue {
  LWLock* lock;
  PGPROC* launcher;  // whom to wake; NULL while no launcher runs
  uint64 next_seq;
  bool sweep_all;
  int nsweeps;
  Oid sweeps[kSweepRequests];
  Slot slots[trajc::defaults::kJobQueueCapacity];
};

Queue* queue = nullptr;  // in shared memory; NULL without the preload
shmem_request_hook_type prev_request_hook = nullptr;
shmem_startup_hook_type prev_startup_hook = nullptr;
bool exit_hook_registered = false;

void request_shmem(void) {
  if (prev_request_hook) prev_request_hook();
  RequestAddinShmemSpace(MAXALIGN(sizeof(Queue)));
  RequestNamedLWLockTranche(kTranche, 1);
}

void startup_shmem(void) {
  if (prev_startup_hook) prev_startup_hook();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  queue = static_cast<Queue*>(ShmemInitStruct("trajc job queue", sizeof(Queue), &found));
  if (!found) {
    memset(queue, 0, sizeof(Queue));
    queue->lock = &GetNamedLWLockTranche(kTranche)->lock;
    queue->next_seq = 1;
  }
  LWLockRelease(AddinShmemInitLock);
}

Slot* slot_of(JobRef ref) {
  if (ref.slot < 0 || ref.slot >= trajc::defaults::kJobQueueCapacity) return nullptr;
  Slot* s = &queue->slots[ref.slot];
  return s->state != SlotState::Free && s->seq == ref.seq ? s : nullptr;
}

void free_slot(Slot* s) { memset(s, 0, sizeof(Slot)); }

// Called with the lock held.
void request_sweep_locked(Oid database) {
  for (int i = 0; i < queue->nsweeps; i++)
    if (queue->sweeps[i] == database) return;
  if (queue->nsweeps == kSweepRequests)
    queue->sweep_all = true;
  else
    queue->sweeps[queue->nsweeps++] = database;
}

void wake_locked(void) {
  if (queue->launcher != nullptr) SetLatch(&queue->launcher->procLatch);
}

// A backend that exits (even on FATAL) frees what its open transaction had
// reserved: that transaction will never commit.
void release_my_reservations(int, Datum) {
  if (queue == nullptr) return;
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  for (Slot& s : queue->slots)
    if (s.state == SlotState::Reserved && s.reserver == MyProcPid) free_slot(&s);
  LWLockRelease(queue->lock);
}

void launcher_detach(int, Datum) {
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  if (queue->launcher == MyProc) queue->launcher = nullptr;
  LWLockRelease(queue->lock);
}

}  // namespace

void job_queue_request_shmem(void) {
  prev_request_hook = shmem_request_hook;
  shmem_request_hook = request_shmem;
  prev_startup_hook = shmem_startup_hook;
  shmem_startup_hook = startup_shmem;
}

bool job_queue_available(void) { return queue != nullptr; }

JobRef reserve_job(Oid role) {
  if (!exit_hook_registered) {
    on_shmem_exit(release_my_reservations, 0);
    exit_hook_registered = true;
  }
  JobRef ref{-1, 0};
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  for (int i = 0; i < trajc::defaults::kJobQueueCapacity; i++) {
    Slot& s = queue->slots[i];
    if (s.state != SlotState::Free) continue;
    s.state = SlotState::Reserved;
    s.seq = queue->next_seq++;
    s.database = MyDatabaseId;
    s.role = role;
    s.reserver = MyProcPid;
    ref = JobRef{i, s.seq};
    break;
  }
  LWLockRelease(queue->lock);
  if (ref.slot < 0)
    ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                    errmsg("too many trajc jobs queued or running (%d)",
                           trajc::defaults::kJobQueueCapacity),
                    errhint("Wait for jobs to finish, or cancel some with trajc_cancel().")));
  return ref;
}

void set_job_id(JobRef ref, int64 job_id) {
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  if (Slot* s = slot_of(ref)) s->job_id = job_id;
  LWLockRelease(queue->lock);
}

void queue_job(JobRef ref) {
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  Slot* s = slot_of(ref);
  if (s != nullptr && s->state == SlotState::Reserved) {
    s->state = SlotState::Queued;
    s->seq = queue->next_seq++;  // queue order: commit order
    s->reserver = 0;
  }
  wake_locked();
  LWLockRelease(queue->lock);
}

void release_reservation(JobRef ref) {
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  Slot* s = slot_of(ref);
  if (s != nullptr && s->state == SlotState::Reserved) free_slot(s);
  LWLockRelease(queue->lock);
}

void cancel_job(Oid database, int64 job_id) {
  pid_t worker = 0;
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  for (Slot& s : queue->slots) {
    if (s.state == SlotState::Free || s.database != database || s.job_id != job_id) continue;
    s.cancel = true;
    if (s.state == SlotState::Running && s.connected) worker = s.worker;
  }
  // Still holding the lock: the worker frees its slot only after it has
  // stopped running the job, so `worker` is that worker, not a reused pid.
  if (worker != 0) kill(worker, SIGINT);
  wake_locked();  // a queued job is dropped by the launcher
  LWLockRelease(queue->lock);
}

bool job_has_slot(Oid database, int64 job_id) {
  bool found = false;
  LWLockAcquire(queue->lock, LW_SHARED);
  for (const Slot& s : queue->slots)
    if (s.state != SlotState::Free && s.database == database && s.job_id == job_id) found = true;
  LWLockRelease(queue->lock);
  return found;
}

void launcher_attach(void) {
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  queue->launcher = MyProc;
  // A launcher (re)starts with the server, or after a crash re-created
  // shared memory: jobs left live in any database were interrupted.
  queue->sweep_all = true;
  LWLockRelease(queue->lock);
  on_shmem_exit(launcher_detach, 0);
}

void wake_launcher(void) {
  LWLockAcquire(queue->lock, LW_SHARED);
  wake_locked();
  LWLockRelease(queue->lock);
}

bool next_job_to_start(int max_jobs, JobRef* ref) {
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  int active = 0;
  Slot* oldest = nullptr;
  for (Slot& s : queue->slots) {
    if (s.state == SlotState::Queued && s.cancel) free_slot(&s);  // its row says cancelled
    if (s.state == SlotState::Starting || s.state == SlotState::Running) active++;
    if (s.state == SlotState::Queued && (oldest == nullptr || s.seq < oldest->seq)) oldest = &s;
  }
  const bool start = oldest != nullptr && active < max_jobs;
  if (start) {
    oldest->state = SlotState::Starting;
    *ref = JobRef{static_cast<int>(oldest - queue->slots), oldest->seq};
  }
  LWLockRelease(queue->lock);
  return start;
}

void unstart_job(JobRef ref) {
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  Slot* s = slot_of(ref);
  if (s != nullptr && s->state == SlotState::Starting) s->state = SlotState::Queued;
  LWLockRelease(queue->lock);
}

bool abandon_if_never_started(JobRef ref) {
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  Slot* s = slot_of(ref);
  const bool abandoned = s != nullptr && s->state == SlotState::Starting;
  if (abandoned) {
    request_sweep_locked(s->database);
    free_slot(s);
  }
  LWLockRelease(queue->lock);
  return abandoned;
}

bool next_sweep(Oid* database, bool* all_databases) {
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  bool any = true;
  *all_databases = queue->sweep_all;
  if (queue->sweep_all) {
    queue->sweep_all = false;
    queue->nsweeps = 0;  // covered
  } else if (queue->nsweeps > 0) {
    *database = queue->sweeps[--queue->nsweeps];
  } else {
    any = false;
  }
  LWLockRelease(queue->lock);
  return any;
}

bool take_job(JobRef ref, JobTarget* target) {
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  Slot* s = slot_of(ref);
  const bool taken = s != nullptr && s->state == SlotState::Starting;
  if (taken) {
    s->state = SlotState::Running;
    s->worker = MyProcPid;
    *target = JobTarget{s->database, s->role, s->job_id};
  }
  LWLockRelease(queue->lock);
  return taken;
}

void job_connected(JobRef ref) {
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  if (Slot* s = slot_of(ref)) s->connected = true;
  LWLockRelease(queue->lock);
}

bool job_cancel_requested(JobRef ref) {
  LWLockAcquire(queue->lock, LW_SHARED);
  Slot* s = slot_of(ref);
  const bool cancel = s != nullptr && s->cancel;
  LWLockRelease(queue->lock);
  return cancel;
}

void job_finished(JobRef ref) {
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  if (Slot* s = slot_of(ref)) s->finished = true;
  LWLockRelease(queue->lock);
}

void leave_job(JobRef ref) {
  LWLockAcquire(queue->lock, LW_EXCLUSIVE);
  Slot* s = slot_of(ref);
  if (s != nullptr && s->worker == MyProcPid) {
    if (!s->finished) request_sweep_locked(s->database);
    free_slot(s);
  }
  wake_locked();
  LWLockRelease(queue->lock);
}

}  // namespace trajc_pg
