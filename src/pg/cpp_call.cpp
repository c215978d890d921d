// The raising half of the C++/Postgres bridge: turns an error a core call
// reported (SQLSTATE + message, copied out of the catch) into ereport(ERROR).
//
// Must never: be called from inside a try or catch block (run_cpp calls it
// only after its try statement has ended), or throw.
#include "cpp_call.hpp"

namespace trajc_pg {

[[noreturn]] void raise_core_error(const char* sqlstate, const char* message) {
  // A cancel seen by the core: let Postgres raise its own error, which names
  // the real reason (user request or statement_timeout).
  if (strcmp(sqlstate, trajc::sqlstate::kQueryCanceled) == 0) CHECK_FOR_INTERRUPTS();
  ereport(ERROR, (errcode(MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2], sqlstate[3],
                                        sqlstate[4])),
                  errmsg("%s", message)));
  pg_unreachable();
}

}  // namespace trajc_pg
