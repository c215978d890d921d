// One session's step (reading it, starting its request, storing its result)
// in a subtransaction of its own, so that whatever fails in it (an SPI error,
// a trigger, a value that does not convert, an error a core call reported)
// fails that session only: the step is rolled back, its error comes back as
// data, and the run goes on with the other sessions.
//
// Must never: hold back an error that ends the whole run (a cancel or
// statement_timeout, a shutdown, the backend out of memory or disk, a
// serialization failure), or return with the subtransaction's memory
// context or resource owner current.
#pragma once

#include <type_traits>

#include "pg_boundary.hpp"

namespace trajc_pg {

// Whether an error ends the run rather than one session: it is about the
// backend or the transaction, not about the session being handled.
bool ends_run(int sqlerrcode);

// Runs step(arg) in a subtransaction, allocating in the caller's memory
// context. Returns nullptr once the step has committed; otherwise the step
// has been rolled back and its error comes back, copied into the caller's
// memory context. An error that ends the run is raised again.
ErrorData* in_subtransaction(void (*step)(void* arg), void* arg);

// The same for a callable; like a Postgres phase, it must keep no C++
// object with a destructor alive where an error may be raised.
template <typename Fn>
ErrorData* in_subtransaction(Fn&& fn) {
  using F = std::remove_reference_t<Fn>;
  return in_subtransaction([](void* f) { (*static_cast<F*>(f))(); },
                           const_cast<void*>(static_cast<const void*>(&fn)));
}

}  // namespace trajc_pg
