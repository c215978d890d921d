#!/usr/bin/env bash
# bench/extract.sh -- trajc_extract() and trajc_turns() against the equivalent
# hand-written SQL on a 2,000,000-row / 50,000-session audit log.
#
#   bench/extract.sh            (as root or the cluster owner, from anywhere)
#
# Generates table bench_audit_log in the private cluster (scripts/pgcluster.sh)
# with scripts/sample_audit_log.sql unless it already holds the expected rows,
# then times, after a warm-up, BENCH_RUNS (7) alternating runs of each pair
# and prints the medians and their ratio (target: trajc <= 1.15 x hand-written).
#
# Environment: BENCH_ROWS (2000000), BENCH_SESSIONS (50000), BENCH_LONG (5000),
# BENCH_TABLE (bench_audit_log), BENCH_REGENERATE=1 to force regeneration,
# BENCH_TARGET (1.15), BENCH_TURNS_TARGET (none: the issue sets a target for extract only); and those of bench/lib.sh (BENCH_RUNS, BENCH_INSTALL,
# BENCH_RESULTS, BENCH_STRICT, BENCH_VERBOSE, TRAJC_PGROOT, TRAJC_PGPORT).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROWS=${BENCH_ROWS:-2000000}
SESSIONS=${BENCH_SESSIONS:-50000}
LONG=${BENCH_LONG:-5000}
TABLE=${BENCH_TABLE:-bench_audit_log}
TARGET=${BENCH_TARGET:-1.15}

bench_init

# ---------------------------------------------------------------- the data
have_rows=-1 have_long=0
if [ "$(bench_scalar "SELECT to_regclass('$TABLE') IS NOT NULL")" = t ]; then
  have_rows=$(bench_scalar "SELECT count(*) FROM $TABLE")
  have_long=$(bench_scalar "SELECT count(*) FROM $TABLE WHERE session_id = 'long-$LONG'")
fi
if [ "${BENCH_REGENERATE:-0}" = 1 ] || [ "$have_rows" != "$ROWS" ] || [ "$have_long" != "$LONG" ]; then
  bench_log "generating $TABLE: $ROWS rows, $SESSIONS sessions + long-$LONG (had ${have_rows/#-1/no table})"
  start=$(date +%s.%N)
  bench_psql -q -v table="$TABLE" -v sessions="$SESSIONS" -v total_rows="$ROWS" \
    -v long_session_turns="$LONG" -f "$REPO/scripts/sample_audit_log.sql" >&2
  bench_log "generated in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
else
  bench_log "$TABLE already holds $ROWS rows (long-$LONG included): reusing it"
fi
# Settle the table (hint bits, visibility map) so the first timed runs don't
# pay for it, whichever side runs first.
bench_psql -q -c "VACUUM (ANALYZE) $TABLE" >&2

# ---------------------------------------------------------------- timings
SETUP="SET trajc.source = '$TABLE';"

EXTRACT_SQL="SELECT * FROM trajc_extract(10, 1000)"
EXTRACT_BASE="SELECT session_id, mode() WITHIN GROUP (ORDER BY agent) AS agent, count(*)::int,
       min(created_at), max(created_at)
FROM $TABLE WHERE session_id IS NOT NULL
GROUP BY session_id HAVING count(*) >= 10
ORDER BY 3 DESC, 5 DESC, 1 LIMIT 1000"

# trajc_turns renders each row as 'column: value' lines (every column but the
# session and time columns, NULLs skipped, table column order); the same by hand:
TURNS_SQL="SELECT * FROM trajc_turns('long-$LONG')"
TURNS_BASE="SELECT row_number() OVER (ORDER BY created_at, id)::int AS turn, created_at AS at, agent,
       concat_ws(E'\\n', 'id: ' || id, 'agent: ' || agent, 'tool: ' || tool, 'action: ' || action,
                 'actor: ' || actor, 'category: ' || category, 'success: ' || success,
                 'arguments: ' || arguments::text, 'response: ' || response,
                 'cost_usd: ' || cost_usd, 'duration_ms: ' || duration_ms) AS content
FROM $TABLE WHERE session_id = 'long-$LONG'
ORDER BY created_at, id"

# Same answers? (warning only: a ratio between different results means little)
bench_check_same() {
  local what=$1 cols=$2 a=$3 b=$4 diff
  diff=$(bench_psql -qAt -c "$SETUP" -c "SELECT count(*) FROM (
      (SELECT $cols FROM ($a) x EXCEPT ALL SELECT $cols FROM ($b) y)
      UNION ALL
      (SELECT $cols FROM ($b) y EXCEPT ALL SELECT $cols FROM ($a) x)) d") || diff="?"
  [ "$diff" = 0 ] || bench_log "WARNING: $what differs from its hand-written equivalent ($diff rows in ($cols))"
}
if bench_have_function trajc_extract; then
  bench_check_same trajc_extract "session_id, agent, turn_count, first_at, last_at" "$EXTRACT_SQL" \
    "SELECT session_id, agent, count AS turn_count, min AS first_at, max AS last_at FROM ($EXTRACT_BASE) z"
fi
if bench_have_function trajc_turns; then
  bench_check_same trajc_turns "turn, at, agent" "$TURNS_SQL" "$TURNS_BASE"
fi

echo "trajc extract benchmark: $TABLE ($ROWS rows), $BENCH_RUNS runs each after a warm-up, medians in ms"
bench_header
if bench_have_function trajc_extract; then
  bench_time_pair "trajc_extract(10,1000)" "$EXTRACT_SQL" "$EXTRACT_BASE" "$SETUP" "$TARGET"
else
  bench_time_one "hand-written extract" "$EXTRACT_BASE" "$SETUP"
fi
if bench_have_function trajc_turns; then
  bench_time_pair "trajc_turns(long-$LONG)" "$TURNS_SQL" "$TURNS_BASE" "$SETUP" "${BENCH_TURNS_TARGET:-}"
else
  bench_time_one "hand-written turns" "$TURNS_BASE" "$SETUP"
fi
bench_finish
