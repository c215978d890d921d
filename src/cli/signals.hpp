// Ctrl-C, SIGTERM and SIGHUP: long commands (compile, export) stop at a clean
// point. Must never do in a handler what is not async-signal-safe.
//
// The first signal sets a flag, removes the registered temporary file (so no
// later kill can leave it behind) and, if a connection is registered, sends
// the server a cancel request so a statement in flight (a model call, a FETCH)
// ends now instead of when it would finish. The work loop sees interrupted(),
// rolls back the unfinished unit and reports. A second Ctrl-C kills at once.
#pragma once

#include <libpq-fe.h>

#include <string>

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

// The file a signal deletes: an output not yet committed (empty: none). One
// at a time; it works with or without an InterruptScope installed, but only
// signals the scope catches run the deletion.
void remove_on_signal(const std::string& path);

}  // namespace trajc_cli
