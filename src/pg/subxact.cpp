// A session's step in a subtransaction: committed when it succeeds, rolled
// back and turned into data (the error) when it fails.
//
// Must never: continue after an error that ends the run, or leave the
// subtransaction open.
#include "subxact.hpp"

namespace trajc_pg {

bool ends_run(int sqlerrcode) {
  switch (ERRCODE_TO_CATEGORY(sqlerrcode)) {
    case ERRCODE_OPERATOR_INTERVENTION:   // 57: cancel, statement_timeout, shutdown
    case ERRCODE_INSUFFICIENT_RESOURCES:  // 53: out of memory, disk full
    case ERRCODE_TRANSACTION_ROLLBACK:    // 40: serialization failure, deadlock
      return true;
    default:
      return false;
  }
}

ErrorData* in_subtransaction(void (*step)(void* arg), void* arg) {
  MemoryContext cxt = CurrentMemoryContext;
  ResourceOwner owner = CurrentResourceOwner;
  ErrorData* error = nullptr;
  BeginInternalSubTransaction(nullptr);
  MemoryContextSwitchTo(cxt);  // the step's results belong to the caller
  PG_TRY();
  {
    step(arg);
    ReleaseCurrentSubTransaction();
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(cxt);
    error = CopyErrorData();
    FlushErrorState();
    // Rolled back before anything else, an error that ends the run included:
    // an internal subtransaction left open under a rethrown error leaves the
    // caller's session in an aborted transaction block after the CALL.
    RollbackAndReleaseCurrentSubTransaction();
  }
  PG_END_TRY();
  MemoryContextSwitchTo(cxt);
  CurrentResourceOwner = owner;
  if (error != nullptr && ends_run(error->sqlerrcode)) ReThrowError(error);
  return error;
}

}  // namespace trajc_pg
