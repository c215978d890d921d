#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine (as root) to a dataset:
# install dependencies, build and install, start a private cluster, load the
# sample audit log, extract trajectories, compile them with the offline
# compiler (no API key needed), and export to data/qa_pairs.sqlite.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
scripts/setup-deps.sh
scripts/build.sh
scripts/pgcluster.sh start
eval "$(scripts/pgcluster.sh env)"
PSQL=(psql -X -v ON_ERROR_STOP=1 -P pager=off)

"${PSQL[@]}" -q <<'SQL'
CREATE EXTENSION IF NOT EXISTS trajc;
ALTER DATABASE trajc SET trajc.provider = 'offline';
SQL
if [ "$("${PSQL[@]}" -Atc "SELECT to_regclass('audit_log') IS NULL")" = t ]; then
  echo "== loading the sample audit log (scripts/sample_audit_log.sql)"
  "${PSQL[@]}" -q -f scripts/sample_audit_log.sql
fi

echo "== 1. extract: sessions with at least 10 turns"
"${PSQL[@]}" -c "SELECT * FROM trajc_extract(10, 20)"
"${PSQL[@]}" -c "SELECT turn, at, agent, left(replace(content, E'\n', ' | '), 110) AS content
                 FROM trajc_turns((SELECT session_id FROM trajc_extract(10, 1))) LIMIT 8"

echo "== 2. compile with the offline compiler"
"${PSQL[@]}" -c "SELECT status, count(*) AS sessions, sum(pairs) AS pairs, sum(rejected) AS rejected
                 FROM trajc_compile_batch(10, 0) GROUP BY status ORDER BY status"
"${PSQL[@]}" -c "SELECT * FROM trajc_stats()"

echo "== 3. export to data/qa_pairs.sqlite"
mkdir -p data
trajc export --out data/qa_pairs.sqlite
trajc stats
trajc sample --limit 3
