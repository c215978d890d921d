#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests, benchmarks and the demo:
# project-local data directory, private port and socket, unprivileged owner
# (initdb refuses root), pg_cron preloaded. Never touches a system cluster.
#
#   scripts/pgcluster.sh start | stop | restart | status | destroy | env | psql [args]
#
# TRAJC_PGROOT (default <repo>/.pgcluster) and TRAJC_PGPORT (default 54329)
# choose where and on which port; TRAJC_PGCONF, lines added to a new
# cluster's postgresql.conf (a test's small lock table, for example); `eval "$(scripts/pgcluster.sh env)"` exports
# PGHOST/PGPORT/PGUSER/PGDATABASE for psql, pg_prove, pg_regress and the tool.
# A node of a multi-server cluster (scripts/citus-cluster.sh) also sets, before
# its first start, TRAJC_PG_LISTEN (default empty: Unix socket only) and
# TRAJC_PG_PRELOAD (default pg_cron,trajc).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PORT=${TRAJC_PGPORT:-54329}
PGBIN=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
OWNER=${TRAJC_PGOWNER:-postgres}
if [ "$(id -u)" -eq 0 ]; then
  id "$OWNER" >/dev/null 2>&1 || useradd --system --no-create-home "$OWNER"
fi
ROOT=${TRAJC_PGROOT:-$REPO/.pgcluster}
# As root, the cluster runs as $OWNER, who may not reach a repo under /root:
# then the cluster lives under /var/tmp instead, still one per repo and port.
if [ "$(id -u)" -eq 0 ] && ! (cd / && runuser -u "$OWNER" -- test -x "$(dirname "$ROOT")"); then
  ROOT=/var/tmp/trajc-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)
fi
DATA=$ROOT/data
SOCK=$ROOT/socket
LOG=$ROOT/postgres.log
DB=trajc
LISTEN=${TRAJC_PG_LISTEN:-}
PRELOAD=${TRAJC_PG_PRELOAD:-pg_cron,trajc}

as_owner() {
  # From /: the owner may not be allowed into the caller's directory.
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u "$OWNER" -- "$@"); else "$@"; fi
}

superuser() { if [ "$(id -u)" -eq 0 ]; then echo "$OWNER"; else id -un; fi; }

cmd_env() {
  echo "export PGHOST=$SOCK PGPORT=$PORT PGUSER=$(superuser) PGDATABASE=$DB"
}

cmd_start() {
  mkdir -p "$ROOT"
  [ "$(id -u)" -ne 0 ] || chown "$OWNER" "$ROOT"
  if [ ! -s "$DATA/PG_VERSION" ]; then
    as_owner "$PGBIN/initdb" -D "$DATA" -U "$(superuser)" --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 >"$ROOT/initdb.log" 2>&1 \
      || { cat "$ROOT/initdb.log" >&2; exit 1; }
    mkdir -p "$SOCK"
    [ "$(id -u)" -ne 0 ] || chown "$OWNER" "$SOCK"
    cat >>"$DATA/postgresql.conf" <<CONF
# trajc test cluster
listen_addresses = '$LISTEN'
unix_socket_directories = '$SOCK'
port = $PORT
shared_preload_libraries = '$PRELOAD'
max_worker_processes = 16
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
work_mem = 64MB
max_wal_size = 4GB
log_min_messages = warning
log_line_prefix = '%m [%p] %u@%d '
${TRAJC_PGCONF:-}
CONF
    case ",$PRELOAD," in
      *,pg_cron,*) printf "cron.database_name = '%s'\ncron.use_background_workers = on\n" "$DB" \
        >>"$DATA/postgresql.conf" ;;
    esac
  fi
  if as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    echo "pgcluster: already running on port $PORT ($SOCK)"
  else
    as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null \
      || { echo "pgcluster: start failed; last log lines:" >&2; tail -n 30 "$LOG" >&2; exit 1; }
    echo "pgcluster: started on port $PORT ($SOCK), log $LOG"
  fi
  as_owner "$PGBIN/psql" -h "$SOCK" -p "$PORT" -d postgres -XAtqc \
    "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
    || as_owner "$PGBIN/createdb" -h "$SOCK" -p "$PORT" "$DB"
}

cmd_stop() {
  [ -s "$DATA/PG_VERSION" ] || return 0
  as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
  echo "pgcluster: stopped"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; cmd_start ;;
  status) as_owner "$PGBIN/pg_ctl" -D "$DATA" status ;;
  destroy) cmd_stop; rm -rf "$ROOT" ;;
  env) cmd_env ;;
  psql) shift; eval "$(cmd_env)"; exec psql -X "$@" ;;
  log) tail -n "${2:-50}" "$LOG" ;;
  root) echo "$ROOT" ;;
  *) echo "usage: $0 start|stop|restart|status|destroy|env|psql [args]|log [n]" >&2; exit 2 ;;
esac
