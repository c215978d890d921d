#!/usr/bin/env bash
# A local Citus cluster for tests and benchmarks: a coordinator and two
# workers on loopback, each its own private PostgreSQL 15 started by
# scripts/pgcluster.sh (TCP on 127.0.0.1, private ports, unprivileged owner)
# with `citus,trajc` preloaded, the workers registered, trajc created, and
# every node pointed at the mock model server through its OWN settings
# (ALTER SYSTEM: base URLs and a per-node test key, so a test can tell from
# the mock's request log which node sent a request). Never touches a system
# cluster; never stores a key anywhere but a node's own postgresql.auto.conf.
#
#   scripts/citus-cluster.sh start | stop | destroy | status | env
#   scripts/citus-cluster.sh mock URL              point every node at another mock
#   scripts/citus-cluster.sh stop-node NODE | start-node NODE
#   scripts/citus-cluster.sh psql NODE [psql args]
#
# NODE is coordinator, worker1 or worker2. TRAJC_CITUS_ROOT (default
# <repo>/.citus-cluster) and TRAJC_CITUS_PORT (the coordinator's port, the
# workers take the next two; default TRAJC_TEST_PGPORT + 10, else 54340)
# choose where. TRAJC_MOCK_URL names a running mock; without it, `start`
# starts one in the cluster's directory. `eval "$(scripts/citus-cluster.sh env)"`
# exports PG* for the coordinator plus TRAJC_CITUS_* for the nodes.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${TRAJC_CITUS_ROOT:-$REPO/.citus-cluster}
BASE_PORT=${TRAJC_CITUS_PORT:-$(( ${TRAJC_TEST_PGPORT:-54330} + 10 ))}
NODES=(coordinator worker1 worker2)
DB=trajc

node_port() {
  case "$1" in
    coordinator) echo "$BASE_PORT" ;;
    worker1) echo $((BASE_PORT + 1)) ;;
    worker2) echo $((BASE_PORT + 2)) ;;
    *) echo "citus-cluster: unknown node '$1' (coordinator, worker1, worker2)" >&2; exit 2 ;;
  esac
}

# scripts/pgcluster.sh for one node: its own directory and port, listening on
# loopback TCP (the nodes talk to each other over it), Citus preloaded first.
node() {
  local name=$1; shift
  TRAJC_PGROOT=$ROOT/$name TRAJC_PGPORT=$(node_port "$name") TRAJC_PG_LISTEN=127.0.0.1 \
    TRAJC_PG_PRELOAD=citus,trajc "$REPO/scripts/pgcluster.sh" "$@"
}

node_psql() {
  local name=$1; shift
  node "$name" psql -q -v ON_ERROR_STOP=1 "$@"
}

mock_url() {
  if [ -n "${TRAJC_MOCK_URL:-}" ]; then echo "$TRAJC_MOCK_URL"; return; fi
  [ -s "$ROOT/mock.port" ] || TRAJC_MOCK_DIR=$ROOT "$REPO/scripts/mock.sh" start >&2
  echo "http://127.0.0.1:$(cat "$ROOT/mock.port")"
}

# Each node's own settings, as an operator would set them on each server:
# base URLs and keys are superuser-only and never travel between nodes.
point_at_mock() {
  local url=$1 name
  for name in "${NODES[@]}"; do
    node_psql "$name" -d postgres >/dev/null <<SQL
ALTER SYSTEM SET trajc.gemini_base_url = '$url';
ALTER SYSTEM SET trajc.openai_base_url = '$url';
ALTER SYSTEM SET trajc.anthropic_base_url = '$url';
ALTER SYSTEM SET trajc.gemini_api_key = 'test-gemini-key-s3cr3t-$name';
ALTER SYSTEM SET trajc.openai_api_key = 'test-openai-key-s3cr3t-$name';
ALTER SYSTEM SET trajc.anthropic_api_key = 'test-anthropic-key-s3cr3t-$name';
ALTER SYSTEM SET trajc.max_retries = 2;
SELECT pg_reload_conf();
SQL
  done
}

cmd_start() {
  "$REPO/scripts/citus-build.sh"
  mkdir -p "$ROOT"
  local name
  for name in "${NODES[@]}"; do
    node "$name" start >&2
    # Loopback only, no certificates: the nodes connect without TLS.
    node_psql "$name" -d postgres >/dev/null <<'SQL'
ALTER SYSTEM SET citus.node_conninfo = 'sslmode=disable';
SELECT pg_reload_conf();
SQL
    node_psql "$name" -d "$DB" -c 'CREATE EXTENSION IF NOT EXISTS citus' >/dev/null
  done
  point_at_mock "$(mock_url)"
  local w1 w2
  w1=$(node_port worker1) w2=$(node_port worker2)
  node_psql coordinator -d "$DB" >/dev/null <<SQL
SELECT citus_set_coordinator_host('127.0.0.1', $BASE_PORT);
SELECT citus_add_node('127.0.0.1', p) FROM unnest(ARRAY[$w1, $w2]) p
 WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node n WHERE n.nodeport = p);
-- Created on the coordinator after the workers joined: Citus propagates it.
CREATE EXTENSION IF NOT EXISTS trajc;
SQL
  echo "citus-cluster: coordinator 127.0.0.1:$BASE_PORT, workers :$w1 :$w2 ($ROOT)" >&2
}

cmd_stop() {
  local name
  for name in worker2 worker1 coordinator; do node "$name" stop >&2 || true; done
  TRAJC_MOCK_DIR=$ROOT "$REPO/scripts/mock.sh" stop
  rm -f "$ROOT/mock.port"
}

cmd_env() {
  node coordinator env
  local name ports=()
  for name in "${NODES[@]}"; do ports+=("$name:$(node_port "$name")"); done
  echo "export TRAJC_CITUS_ROOT=$ROOT TRAJC_CITUS_PORT=$BASE_PORT TRAJC_CITUS_NODES='${ports[*]}'"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  destroy) cmd_stop; for n in "${NODES[@]}"; do node "$n" destroy >&2; done; rm -rf "$ROOT" ;;
  status) for n in "${NODES[@]}"; do echo "$n: $(node "$n" status 2>&1 | head -n 1)"; done ;;
  env) cmd_env ;;
  mock) point_at_mock "${2:?usage: $0 mock URL}" ;;
  stop-node) node "${2:?node}" stop ;;
  start-node) node "${2:?node}" start ;;
  psql) shift; n=${1:?node}; shift; node "$n" psql -d "$DB" "$@" ;;
  *) echo "usage: $0 start|stop|destroy|status|env|mock URL|stop-node N|start-node N|psql N [args]" >&2
     exit 2 ;;
esac
