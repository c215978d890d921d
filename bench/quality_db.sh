#!/usr/bin/env bash
# A database to measure pair quality on (bench/quality.sh): (re)creates DB,
# loads a log into audit_log and compiles every session of 3 turns or more
# with the offline compiler. Needs a running cluster (scripts/pgcluster.sh)
# with trajc installed; never touches another database.
#
#   bench/quality_db.sh DB sample              # scripts/sample_audit_log.sql (120 sessions)
#   bench/quality_db.sh DB path/to/log.csv     # a Workloft-style CSV, e.g. the shared
#                                              # Who&When log (/work/shared/data/...)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
db=${1:?usage: bench/quality_db.sh DB sample|CSV}
log=${2:?usage: bench/quality_db.sh DB sample|CSV}
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -P pager=off)

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\""
"${PSQL[@]}" -d "$db" -c "CREATE EXTENSION trajc" \
  -c "ALTER DATABASE \"$db\" SET trajc.provider = 'offline'"
# The sample script creates the table; a CSV goes into the same table shape.
"${PSQL[@]}" -d "$db" -v sessions="$([ "$log" = sample ] && echo 120 || echo 1)" \
  -f "$REPO/scripts/sample_audit_log.sql" >/dev/null
if [ "$log" != sample ]; then
  "${PSQL[@]}" -d "$db" -c "TRUNCATE audit_log" \
    -c "\\copy audit_log(session_id, agent, actor, action, tool, category, success, arguments, response, cost_usd, duration_ms, created_at) FROM '$log' CSV HEADER"
fi
"${PSQL[@]}" -d "$db" -c "SELECT status, count(*) AS sessions, sum(pairs) AS pairs,
                                 sum(rejected) AS rejected
                            FROM trajc_compile_batch(3, 0, force => true)
                           GROUP BY status ORDER BY status"
