// The SQL entry points of background runs: trajc_start and trajc_cancel,
// and what their transactions do when they end.
//
// Both act when their transaction commits, like NOTIFY: a job started in a
// transaction that rolls back never runs (its row is gone too), and a cancel
// that rolls back cancels nothing. Until then they only write trajc.jobs
// (job_store.cpp) and hold a reserved slot in the shared queue
// (job_queue.cpp), which an abort or the backend's exit gives back.
//
// Must never: start a worker itself (the launcher does, under
// trajc.max_jobs), let a role cancel a job of a role it is not a member of,
// or raise after the commit (the callbacks below only move slots).
#include "cpp_call.hpp"
#include "audit_source.hpp"
#include "guc.hpp"
#include "job_queue.hpp"
#include "job_store.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(trajc_start);
PG_FUNCTION_INFO_V1(trajc_cancel);
}

using namespace trajc_pg;
namespace defaults = trajc::defaults;

namespace {

// What this transaction will do to the queue when it commits.
struct Pending {
  enum Kind { Start, Cancel } kind;
  JobRef ref;      // Start: the reserved slot
  int64 job_id;    // Cancel
  SubTransactionId subxact;  // dropped if this subtransaction rolls back
};

List* pending = NIL;  // of Pending*, in TopMemoryContext
bool callbacks_registered = false;

void forget_pending(void) {
  list_free_deep(pending);
  pending = NIL;
}

void at_xact_end(XactEvent event, void*) {
  if (pending == NIL) return;
  ListCell* cell;
  switch (event) {
    case XACT_EVENT_COMMIT:
      // Starts first: a job started and cancelled in one transaction is
      // queued, then dropped.
      foreach (cell, pending) {
        auto* p = static_cast<Pending*>(lfirst(cell));
        if (p->kind == Pending::Start) queue_job(p->ref);
      }
      foreach (cell, pending) {
        auto* p = static_cast<Pending*>(lfirst(cell));
        if (p->kind == Pending::Cancel) cancel_job(MyDatabaseId, p->job_id);
      }
      forget_pending();
      break;
    case XACT_EVENT_ABORT:
      foreach (cell, pending) {
        auto* p = static_cast<Pending*>(lfirst(cell));
        if (p->kind == Pending::Start) release_reservation(p->ref);
      }
      forget_pending();
      break;
    case XACT_EVENT_PRE_PREPARE:
      ereport(ERROR,
              (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
               errmsg("cannot PREPARE a transaction that started or cancelled a trajc job")));
      break;
    default: break;
  }
}

void at_subxact_end(SubXactEvent event, SubTransactionId mine, SubTransactionId parent, void*) {
  if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB) return;
  ListCell* cell;
  foreach (cell, pending) {
    auto* p = static_cast<Pending*>(lfirst(cell));
    if (p->subxact != mine) continue;
    if (event == SUBXACT_EVENT_COMMIT_SUB) {
      p->subxact = parent;
      continue;
    }
    if (p->kind == Pending::Start) release_reservation(p->ref);
    pending = foreach_delete_current(pending, cell);
    pfree(p);
  }
}

Pending* remember(Pending::Kind kind) {
  if (!callbacks_registered) {
    RegisterXactCallback(at_xact_end, nullptr);
    RegisterSubXactCallback(at_subxact_end, nullptr);
    callbacks_registered = true;
  }
  MemoryContext caller = MemoryContextSwitchTo(TopMemoryContext);
  auto* p = static_cast<Pending*>(palloc0(sizeof(Pending)));
  p->kind = kind;
  p->subxact = GetCurrentSubTransactionId();
  pending = lappend(pending, p);
  MemoryContextSwitchTo(caller);
  return p;
}

void require_preload(void) {
  if (!job_queue_available())
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("trajc background jobs need trajc in shared_preload_libraries"),
                    errdetail("Background workers can only be registered by a library loaded at "
                              "server start."),
                    errhint("Add trajc to shared_preload_libraries in postgresql.conf and restart "
                            "the server; until then CALL trajc_compile_pending(...) runs the same "
                            "work in your session.")));
}

// The worker logs in as the role: a role without LOGIN (reached with SET
// ROLE, say) could not start it.
void require_login(Oid role) {
  HeapTuple tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(role));
  if (!HeapTupleIsValid(tuple)) elog(ERROR, "trajc: cache lookup failed for role %u", role);
  auto* form = reinterpret_cast<Form_pg_authid>(GETSTRUCT(tuple));
  const bool can_login = form->rolcanlogin;
  const char* name = pstrdup(NameStr(form->rolname));
  ReleaseSysCache(tuple);
  if (!can_login)
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("role \"%s\" cannot log in, so no background job can run as it", name),
                    errhint("A job runs as the role that starts it; start it as a role with "
                            "LOGIN.")));
}

int int_arg(FunctionCallInfo fcinfo, int n, int if_null) {
  return PG_ARGISNULL(n) ? if_null : PG_GETARG_INT32(n);
}

}  // namespace

// trajc_start(min_turns, limit, tier): records a job and returns its id; the
// launcher starts its worker once this transaction commits and a place under
// trajc.max_jobs is free.
extern "C" Datum trajc_start(PG_FUNCTION_ARGS) {
  require_preload();
  const int min_turns = int_arg(fcinfo, 0, defaults::kMinTurns);
  const int limit = int_arg(fcinfo, 1, defaults::kCompileLimit);
  const char* tier = PG_ARGISNULL(2) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(2));
  check_listing_args(min_turns, limit);
  if (tier != nullptr && !is_tier(tier))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("unknown tier \"%s\"", tier),
                    errhint("Use cheap, standard or premium.")));
  const Oid role = GetUserId();
  require_login(role);
  reconcile_jobs();
  Pending* p = remember(Pending::Start);
  p->ref = reserve_job(role);
  const int64 id = insert_job(role, min_turns, limit, tier);
  set_job_id(p->ref, id);
  PG_RETURN_INT64(id);
}

// trajc_cancel(job_id): true if the job was queued or running (a queued job
// is cancelled at once; a running one stops within a second of the commit,
// keeping the sessions it finished), false if it had already ended.
extern "C" Datum trajc_cancel(PG_FUNCTION_ARGS) {
  require_preload();
  const int64 id = PG_GETARG_INT64(0);
  reconcile_jobs();
  Oid role = InvalidOid;
  trajc::JobStatus status = trajc::JobStatus::Done;
  if (!find_job(id, &role, &status))
    ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND), errmsg("trajc job %lld does not exist",
                                                           static_cast<long long>(id))));
  if (!is_member_of_role(GetUserId(), role))
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("permission denied to cancel trajc job %lld",
                           static_cast<long long>(id)),
                    errdetail("Only members of the role that started a job may cancel it.")));
  if (!trajc::job_is_live(status)) PG_RETURN_BOOL(false);
  if (status == trajc::JobStatus::Queued) (void)cancel_queued_job(id);  // else it just started
  remember(Pending::Cancel)->job_id = id;
  PG_RETURN_BOOL(true);
}
