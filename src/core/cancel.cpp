// The core's one cancel error.
//
// Must never: raise anything but Error(kQueryCanceled), or wait.
#include "trajc/cancel.hpp"

#include "trajc/error.hpp"

namespace trajc {

void throw_canceled() { throw Error(sqlstate::kQueryCanceled, "canceling statement due to user request"); }

}  // namespace trajc
