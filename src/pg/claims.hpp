// Session claims: advisory locks that keep two runs (two pg_cron jobs, or a
// user and a job) from compiling the same session, without either waiting.
//
// A claim lasts until the session's rows are committed, or the other run
// would not see them and compile the session again: transaction-level in a
// batch (released by its commit or abort), session-level in a procedure that
// commits per session (released after each session's commit, and all of them
// on error).
//
// Must never: wait for a lock (a claimed session is skipped), or outlive the
// run that took it.
#pragma once

#include "pg_boundary.hpp"

namespace trajc_pg {

struct Claims {
  bool session_level;  // held across commits, released by this run
  int count;
  int capacity;
  uint64* keys;  // session-level claims still held
};

// An empty set of claims, allocated in the current memory context.
void claims_init(Claims* claims, bool session_level);
// Claims a session; false when another backend holds it. Claiming a session
// this run (or transaction) already holds succeeds.
bool claim(Claims* claims, const char* session_id);
// Releases a session-level claim once the session's outcome is committed.
void release_claim(Claims* claims, const char* session_id);
// Releases every session-level claim still held (after an error).
void release_all_claims(Claims* claims);

}  // namespace trajc_pg
