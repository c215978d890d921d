#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster set up the way Supabase sets up its own
# (supabase/postgres: migrations/db/init-scripts, the demote-postgres
# migration, ansible/files/postgresql_config/supautils.conf.j2), for
# test/supabase/. Never touches a system cluster or scripts/pgcluster.sh's.
#
#   test/supabase/cluster.sh start | stop | env
#
# - bootstrap superuser supabase_admin; `postgres` demoted to
#   NOSUPERUSER CREATEDB CREATEROLE LOGIN REPLICATION BYPASSRLS;
#   anon, authenticated, service_role (NOLOGIN) behind authenticator;
# - Supabase's default privileges in schema public (every new table, function
#   and sequence granted to postgres, anon, authenticated, service_role);
# - supautils (session_preload_libraries, as in Supabase's image) with
#   pg_cron, supabase_vault and trajc privileged, after-create scripts from
#   $ROOT/extension-custom-scripts (trajc's is the repository's own);
# - pg_cron, supabase_vault and trajc preloaded; Vault's root key from a
#   getkey script; cron in the database postgres.
# The server's environment has ANTHROPIC_API_KEY (a test key) and an
# https_proxy that refuses connections: nothing can reach a real vendor.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$REPO/test/supabase
PORT=${TRAJC_SUPABASE_PGPORT:-$(( ${TRAJC_TEST_PGPORT:-54330} + 2 ))}
PGBIN=$(pg_config --bindir)
OWNER=${TRAJC_PGOWNER:-postgres}
ROOT=${TRAJC_SUPABASE_ROOT:-/var/tmp/trajc-supabase-$PORT}
DATA=$ROOT/data
SOCK=$ROOT/socket
LOG=$ROOT/postgres.log

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u "$OWNER" -- "$@"); else "$@"; fi
}

cmd_env() {
  echo "export PGHOST=$SOCK PGPORT=$PORT PGUSER=supabase_admin PGDATABASE=postgres"
  echo "export TRAJC_SUPABASE_ROOT=$ROOT"
}

write_config() {
  local scripts=$ROOT/extension-custom-scripts
  mkdir -p "$scripts/trajc" "$scripts/pg_cron" "$scripts/supabase_vault"
  cp "$REPO/supabase/extension-custom-scripts/trajc/after-create.sql" "$scripts/trajc/"
  cp "$HERE/fixtures/pg_cron-after-create.sql" "$scripts/pg_cron/after-create.sql"
  cp "$HERE/fixtures/supabase_vault-after-create.sql" "$scripts/supabase_vault/after-create.sql"
  # Vault's root key: 32 random bytes as 64 hex characters, fixed per cluster.
  if [ ! -s "$ROOT/root.key" ]; then
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$ROOT/root.key"
  fi
  printf '#!/bin/sh\ncat %s\n' "$ROOT/root.key" >"$ROOT/getkey.sh"
  chmod 0755 "$ROOT/getkey.sh"
  cat >>"$DATA/postgresql.conf" <<CONF
# trajc Supabase-like test cluster (test/supabase/cluster.sh)
listen_addresses = ''
unix_socket_directories = '$SOCK'
port = $PORT
shared_preload_libraries = 'pg_cron, supabase_vault, trajc'
session_preload_libraries = 'supautils'
vault.getkey_script = '$ROOT/getkey.sh'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
supautils.superuser = 'supabase_admin'
supautils.privileged_role = 'postgres'
supautils.privileged_extensions = 'pg_cron, supabase_vault, trajc'
supautils.extension_custom_scripts_path = '$scripts'
supautils.reserved_roles = 'supabase_admin, service_role*, authenticator*, authenticated*, anon*'
supautils.reserved_memberships = 'pg_read_server_files, pg_write_server_files, pg_execute_server_program, authenticator'
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
log_line_prefix = '%m [%p] %u@%d '
CONF
}

cmd_start() {
  mkdir -p "$ROOT"
  [ "$(id -u)" -ne 0 ] || chown "$OWNER" "$ROOT"
  local fresh=0
  if [ ! -s "$DATA/PG_VERSION" ]; then
    as_owner "$PGBIN/initdb" -D "$DATA" -U supabase_admin --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 >"$ROOT/initdb.log" 2>&1 || { cat "$ROOT/initdb.log" >&2; exit 1; }
    mkdir -p "$SOCK"
    write_config
    [ "$(id -u)" -ne 0 ] || chown -R "$OWNER" "$ROOT"
    fresh=1
  fi
  if ! as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_owner env ANTHROPIC_API_KEY=env-anthropic-key-from-the-server \
      https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
      "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null \
      || { echo "supabase cluster: start failed" >&2; tail -n 30 "$LOG" >&2; exit 1; }
  fi
  if [ "$fresh" = 1 ]; then
    as_owner "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U supabase_admin \
      -d postgres -f "$HERE/fixtures/roles.sql" >/dev/null
    as_owner "$PGBIN/createdb" -h "$SOCK" -p "$PORT" -U supabase_admin upgrade_check
    as_owner "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U supabase_admin \
      -d upgrade_check -f "$HERE/fixtures/database.sql" >/dev/null
  fi
  echo "supabase cluster: port $PORT ($SOCK), log $LOG" >&2
}

cmd_stop() {
  [ -s "$DATA/PG_VERSION" ] || return 0
  as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  destroy) cmd_stop; rm -rf "$ROOT" ;;
  env) cmd_env ;;
  *) echo "usage: $0 start|stop|destroy|env" >&2; exit 2 ;;
esac
