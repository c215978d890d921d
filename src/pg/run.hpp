// The run driver behind every compile entry point (trajc_compile,
// trajc_compile_session, trajc_compile_batch, CALL trajc_compile_pending,
// trajc_estimate): begin, load, drive, end, with one loop for all of them.
//
// The loop alternates the three phases session by session: load a
// trajectory with SPI (phase 1), hand it to the core's BatchRunner and drive
// the transfers (phase 2), store what finished, each session in its own
// subtransaction, and emit its result (phase 3). Requests stay in flight
// across phases; the runner lives in a box owned by the run's memory context,
// so an error or a cancel frees it.
//
// What differs between entry points is a RunPolicy, not a mode checked here
// and there.
//
// Must never: hold a claim past the run, keep one session's memory after it
// is stored (a batch of thousands must stay flat), or call into the core
// outside run_cpp.
#pragma once

#include "pg_boundary.hpp"

namespace trajc_pg {

// What each finished (or skipped) session adds to the function's result.
enum class Emit {
  Nothing,     // a procedure, or an estimate (one totals row at the end)
  Pairs,       // the qa_pairs rows it inserted (trajc_compile)
  StatusRows,  // (session_id, status, pairs, rejected, cost_usd, error)
  StatusJson,  // the same rows as one json array (status_json), for a
               // procedure, which has no result set (trajc.compile_sessions)
};

struct RunPolicy {
  Emit emit;
  // The caller named the session: one that has no turns is NO_DATA_FOUND
  // (a listed one that vanished is skipped), and requests go one at a time.
  bool named;
  // False for an estimate: nothing is claimed, sent, logged or stored, and no
  // key is needed.
  bool compiles;
  // A failed session is a WARNING and a skipped one a NOTICE: trajc_compile
  // returns pairs, so its status has no other way out.
  bool reports;
};

inline constexpr RunPolicy kCompilePolicy{Emit::Pairs, true, true, true};
inline constexpr RunPolicy kCompileSessionPolicy{Emit::StatusRows, true, true, false};
inline constexpr RunPolicy kBatchPolicy{Emit::StatusRows, false, true, false};
inline constexpr RunPolicy kPendingPolicy{Emit::Nothing, false, true, false};
inline constexpr RunPolicy kEstimatePolicy{Emit::Nothing, false, false, false};
inline constexpr RunPolicy kSessionListPolicy{Emit::StatusJson, false, true, false};
// CALL trajc_batch_submit: chooses sessions as trajc_compile_pending does,
// then hands them to a sink (set_sink) instead of compiling them.
inline constexpr RunPolicy kBatchSubmitPolicy{Emit::Nothing, false, true, false};

// What a run did, for summaries and estimates.
struct RunTotals {
  int sessions;  // named or listed
  int ok, empty, failed, skipped;
  int pairs;
  double cost_usd;  // spent (or, for an estimate, estimated)
  int64 tokens_in;  // estimated input tokens (estimates only)
  // On Citus, the nodes that failed and why, "; "-separated (NULL: none):
  // their sessions are counted failed, and a job records this as its error.
  const char* node_failures;
};

// CALL outside a transaction block: the procedure may commit as it goes.
bool nonatomic_call(FunctionCallInfo fcinfo);

struct Run;
struct Store;
struct ModelChoice;

// Where a loaded session goes instead of the core's runner: provider batch
// mode gathers them into vendor jobs. Called in a Postgres phase (SPI free
// to use) with the session claimed, its trajectory loaded and checked (not
// unchanged, not in an open batch); allocations go with the session's
// scratch memory. The sink releases the claim (release_session) once the
// session is durably the job's.
// session_id and hash are as listed and as computed (database text), t the
// trajectory the core rendered (UTF-8).
using SessionSink = void (*)(Run* run, const char* session_id, const char* hash,
                             const trajc::Trajectory& t, void* state);

// Phase 1 for every entry point: settings, audit source, plans, boxed core
// objects. A CALL outside a transaction block commits after each session.
// Results go to fcinfo's materialized set unless the policy emits nothing.
Run* begin_run(const RunPolicy& policy, FunctionCallInfo fcinfo, const char* tier, bool force);
// Phase 1 for a background job (job_worker.cpp): CALL trajc_compile_pending's
// run, committing after each session, in the worker's portal (PortalContext),
// which stands in for the CALL's.
Run* begin_background_run(const RunPolicy& policy, const char* tier);
// Called with the totals after the listing and after each session is
// counted, each time before its commit: a job's progress commits with it.
using RunObserver = void (*)(const RunTotals& totals, void* arg);
void observe_run(Run* run, RunObserver observer, void* arg);
// The run's sessions: the one the caller named, or the listing's.
void name_session(Run* run, const char* session_id);
void list_sessions(Run* run, int min_turns, int limit);
// ... or sessions another node listed (a batch fanned out on Citus).
void given_sessions(Run* run, const char* const* session_ids, int n);
// Sends every loaded session to `sink` instead of compiling it (before drive).
void set_sink(Run* run, SessionSink sink, void* state);
// Compiles (or estimates) every session; claims are released on any error.
void drive(Run* run);
// What a sink needs of its run: the model and settings snapshot, the store,
// whether a CALL commits as it goes (and the commit), and claim release.
const ModelChoice& run_model(const Run* run);
const trajc::CompileSettings& run_settings(const Run* run);
const Store* run_store(const Run* run);
bool run_commits(const Run* run);
void run_commit(Run* run);
void release_session(Run* run, const char* session_id);
const RunTotals& run_totals(const Run* run);
// Emit::StatusJson: the status rows so far, as a json array ("[]" if none).
const char* status_json(const Run* run);
// Frees the run: plans, boxed core objects (closing connections), memory.
void end_run(Run* run);

}  // namespace trajc_pg
