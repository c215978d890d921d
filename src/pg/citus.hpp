// trajc on a Citus cluster (docs/citus.md): what the compile entry points do
// differently once trajc_distribute() has distributed trajc's tables. The
// rule: a session is compiled only on the node holding its shard, where its
// claim (an advisory lock, per server) and its hash-skip are.
//
// Must never: name a Citus symbol (Citus is optional; its catalogs are read
// by the extension's SQL functions, trajc.citus_*), forward a key or a base
// URL to another node, or compile a session another node holds.
#pragma once

#include "run.hpp"

namespace trajc_pg {

// True when trajc's tables are distributed (trajc_distribute() ran): batches
// then fan out, and lookups across sessions avoid generic plans.
bool citus_distributed();
// Raises 0A000 when the named session's shard is on another node (a call
// Citus did not delegate, e.g. inside a transaction block on the coordinator).
void citus_require_held_here(const char* session_id);
// A batch fanned out: listed node by node, then each node compiles the
// listed sessions it holds, all nodes at once (trajc.citus_fan_out); the
// status rows go into `rsinfo`'s result set when given. With an `observer`
// (a background job, inside its portal) it goes in rounds of a few times
// trajc.concurrency sessions per node, and the observer sees the totals
// after the listing and after each round, each time committed; without one
// it is one round, in the caller's transaction. Returns the totals, with the
// nodes whose part failed (unreachable, or failing midway) and why in
// `node_failures`.
RunTotals citus_fan_out(ReturnSetInfo* rsinfo, int min_turns, int limit, const char* tier,
                        bool force, RunObserver observer = nullptr, void* arg = nullptr);
// The work of CALL trajc_compile_pending(min_turns, limit, tier), for the
// procedure (fcinfo) and for a background job (fcinfo NULL, inside the job's
// portal): fanned out when trajc is distributed, else the run driver here.
// `observer` (may be NULL) sees the totals as the work advances: after each
// session here, or after the listing and after each round when fanned out.
RunTotals compile_pending_work(FunctionCallInfo fcinfo, int min_turns, int limit,
                               const char* tier, RunObserver observer, void* arg);

}  // namespace trajc_pg
