// Ctrl-C and SIGTERM: long commands (compile, export) stop at a clean point.
//
// The first signal sets a flag and, if a connection is registered, sends the
// server a cancel request so a statement in flight (a model call, a FETCH)
// ends now instead of when it would finish. The work loop sees interrupted(),
// rolls back the unfinished unit and reports. A second Ctrl-C kills at once.
#pragma once

#include <libpq-fe.h>

namespace trajc_cli {

bool interrupted();

class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  // The connection whose running statement a signal cancels (nullptr: none).
  void cancel_on_signal(PGconn* conn);
};

}  // namespace trajc_cli
