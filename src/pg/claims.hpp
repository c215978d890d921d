// Session claims: they keep two runs (two pg_cron jobs, or a user and a job)
// from compiling the same session, without either waiting.
//
// A claim has two parts, so that a run of any size holds a bounded number of
// locks (a batch of 15,000 sessions used to exhaust the shared lock table,
// `out of shared memory`, and store nothing):
//
// - While a session is in flight (loaded, sent, not yet stored), the run
//   holds an advisory lock on it: transaction-level in a batch,
//   session-level in a procedure that commits per session. The run releases
//   it as soon as the session's rows are stored, so it holds at most
//   trajc.concurrency + 1 of them, however many sessions it lists.
// - Once stored, a session is protected by its own compile_log row. In a
//   procedure that row is committed before the lock goes. In a batch it is
//   committed only at the statement's end, so another run that takes the
//   lock meanwhile would not see the row with any snapshot, and would pay to
//   compile the session again. claim() therefore also looks for an ok
//   compile of the session inserted by a transaction still in progress: it
//   reads compile_log's index of ok compiles with a dirty snapshot (as a
//   unique index check does), which sees rows not yet committed. Such a
//   session is being compiled by another run; once that run commits, the
//   "compiled before at this hash?" check (store.hpp) sees its row, and if it
//   aborts the row is gone and the session is compiled again. A failed or
//   empty outcome left uncommitted needs no protection: it stores no pair,
//   and a later run compiles such a session again anyway.
//
// The alternatives were worse: releasing in chunks cannot happen in a
// statement that commits only at its end; a registry in shared memory needs
// trajc in shared_preload_libraries and has a size of its own to exhaust;
// rows in a table of claims are invisible to other runs until committed.
//
// Must never: wait for a lock (a claimed session is skipped), outlive the
// run that took it, or hold more than the sessions in flight.
#pragma once

#include "pg_boundary.hpp"

namespace trajc_pg {

struct Claims {
  bool session_level;  // held across commits, released by this run
  Oid ok_index;        // trajc.compile_log_session_idx: ok compiles by session
  int count;
  int capacity;
  uint64* keys;  // claims held: the sessions in flight
};

// An empty set of claims, allocated in the current memory context.
void claims_init(Claims* claims, bool session_level);
// Claims a session; false when another run holds it or has stored an ok
// compile of it that is not committed yet. Claiming a session this run (or
// transaction) already holds succeeds; its own rows never stop it.
bool claim(Claims* claims, const char* session_id);
// Releases a claim once the session's compile_log row is stored (and, in a
// procedure, committed): at once in either mode, since from then on an
// uncommitted ok row protects the session (and a failed, empty or skipped
// one needs no protection).
void release_claim(Claims* claims, const char* session_id);
// Releases a claim whose protection is a row claim() does not look at (an
// open provider batch request): a session-level claim at once (its row is
// committed), a transaction-level one only at the transaction's end.
void release_claim_at_commit(Claims* claims, const char* session_id);
// Releases every session-level claim still held (after an error; the abort
// releases transaction-level ones).
void release_all_claims(Claims* claims);

}  // namespace trajc_pg
