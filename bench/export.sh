#!/usr/bin/env bash
# bench/export.sh -- `trajc export` of 1,000,000 pairs to SQLite and to JSONL,
# side by side with the shell baseline of the same rows:
#   psql -c "\copy (SELECT ...) TO file csv"  then  sqlite3 file '.import --csv'
# into the same schema (migrations/sqlite). Prints wall times, the ratio and
# the tool's peak RSS. Targets: SQLite export <= 0.5 x baseline, peak < 64 MB.
#
#   bench/export.sh            (as root or the cluster owner, from anywhere)
#
# The pairs are generated straight into trajc.qa_pairs of database
# $BENCH_DB (INSERT ... SELECT generate_series, no compile), once; later runs
# reuse them. Environment: BENCH_PAIRS (1000000), BENCH_DB (trajc_bench_export),
# BENCH_EXPORT_RUNS (3, alternating tool/baseline, medians reported),
# BENCH_EXPORT_TARGET (0.5, issue 16), BENCH_RSS_TARGET_MB (64), BENCH_REGENERATE=1,
# TRAJC_BIN (build/trajc), BENCH_BEFORE_BIN (another build of the tool, e.g.
# main's, timed the same way in the same runs: before and after side by side); and those of bench/lib.sh (BENCH_INSTALL,
# BENCH_RESULTS, BENCH_STRICT, TRAJC_PGROOT, TRAJC_PGPORT).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PAIRS=${BENCH_PAIRS:-1000000}
DB=${BENCH_DB:-trajc_bench_export}
RUNS=${BENCH_EXPORT_RUNS:-3}
TARGET=${BENCH_EXPORT_TARGET:-0.5}
RSS_TARGET_MB=${BENCH_RSS_TARGET_MB:-64}
TRAJC_BIN=${TRAJC_BIN:-$REPO/build/trajc}

bench_init
if [ ! -x "$TRAJC_BIN" ]; then
  bench_log "building the tool ($TRAJC_BIN)"
  cmake -S "$REPO" -B "$REPO/build" >/dev/null && cmake --build "$REPO/build" -j"$(nproc)" --target trajc >/dev/null ||
    bench_die "building trajc failed"
fi
[ -x /usr/bin/time ] || bench_die "needs /usr/bin/time (Debian package time)"

# ---------------------------------------------------------------- the data
[ "$(bench_scalar "SELECT count(*) FROM pg_database WHERE datname = '$DB'")" = 1 ] ||
  bench_psql -q -c "CREATE DATABASE $DB" >&2
export PGDATABASE=$DB
bench_psql -q -c 'CREATE EXTENSION IF NOT EXISTS trajc' >&2
have=$(bench_scalar "SELECT count(*) FROM trajc.qa_pairs")
if [ "${BENCH_REGENERATE:-0}" = 1 ] || [ "$have" != "$PAIRS" ]; then
  bench_log "generating $PAIRS pairs in $DB (had $have)"
  # Sizes like the offline compiler's pairs: ~80-char questions, ~150-char
  # answers, the raw pair as JSON; 2,000 sessions; one second apart.
  bench_psql -q >&2 <<SQL
TRUNCATE trajc.qa_pairs CASCADE;
INSERT INTO trajc.qa_pairs (session_id, agent, turn_count, question, answer, supporting_turns,
                            qa_type, source_model, cost_usd, raw_extraction, trajectory_hash,
                            created_at)
SELECT 's-' || (g % 2000), 'agent-' || (g % 7), 10 + g % 190,
       q, a, t, (ARRAY['factoid', 'reasoning', 'composition', 'temporal'])[1 + g % 4],
       'gemini-2.5-flash', round((g % 1000) * 0.0000013, 9),
       jsonb_build_object('question', q, 'answer', a, 'supporting_turns', t,
                          'qa_type', (ARRAY['factoid', 'reasoning', 'composition', 'temporal'])[1 + g % 4]),
       md5((g % 2000)::text), timestamptz '2025-01-01 00:00:00+00' + g * interval '1 second'
  FROM generate_series(1, $PAIRS) g,
       LATERAL (SELECT 'Which tool did the agent call at turn ' || (3 + g % 40) ||
                       ' after the search at turn ' || (1 + g % 3) || ' failed?' AS q,
                       'It called sql_query with "SELECT * FROM orders WHERE id = ' || g ||
                       '" at turn ' || (3 + g % 40) || ', after search failed at turn ' ||
                       (1 + g % 3) || ' with a timeout.' AS a,
                       jsonb_build_array(1 + g % 3, 3 + g % 40) AS t) x;
VACUUM (ANALYZE) trajc.qa_pairs;
SQL
fi
bench_log "$(bench_scalar "SELECT pg_size_pretty(pg_total_relation_size('trajc.qa_pairs'))") in trajc.qa_pairs"

# ---------------------------------------------------------------- runs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/trajc-bench-export.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# The baseline exports the rows exactly as the tool writes them, in the same
# order (as stored: created_at, id; see src/cli/sink_sqlite.cpp).
SELECT_SQL="SELECT id, session_id, agent, turn_count, question, answer, supporting_turns, qa_type,
  source_model, cost_usd, raw_extraction,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')
  FROM trajc.qa_pairs ORDER BY created_at, id"
SELECT_SQL=$(printf '%s' "$SELECT_SQL" | tr '\n' ' ')  # \copy takes one line
SCHEMA=$(ls "$REPO"/migrations/sqlite/[0-9]*.sql)

# timed NAME CMD...: runs CMD under /usr/bin/time; appends "seconds max_rss_kb" to $WORK/NAME.
timed() {
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$WORK/last.time" "$@" >/dev/null 2>"$WORK/last.err" ||
    { cat "$WORK/last.err" >&2; bench_die "$name failed"; }
  cat "$WORK/last.time" >>"$WORK/$name"
}

tool_sqlite() { rm -f "$WORK/tool.sqlite"; timed tool_sqlite "$TRAJC_BIN" export --out "$WORK/tool.sqlite"; }
tool_before() {
  rm -f "$WORK/before.sqlite"
  timed tool_before "$BENCH_BEFORE_BIN" export --out "$WORK/before.sqlite"
}
tool_rerun() { timed tool_rerun "$TRAJC_BIN" export --out "$WORK/tool.sqlite"; }
tool_jsonl() { timed tool_jsonl "$TRAJC_BIN" export --format jsonl --out "$WORK/tool.jsonl"; }
baseline() {
  rm -f "$WORK/base.sqlite" "$WORK/base.csv"
  local start end
  start=$(date +%s.%N)
  timed base_copy psql -X -q -c "\\copy ($SELECT_SQL) TO '$WORK/base.csv' WITH (FORMAT csv)"
  cat $SCHEMA | sqlite3 "$WORK/base.sqlite"
  timed base_import sqlite3 "$WORK/base.sqlite" ".import --csv $WORK/base.csv qa_pairs"
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f\n", e - s }' >>"$WORK/base_total"
}

for ((i = 0; i < RUNS; i++)); do
  bench_log "run $((i + 1))/$RUNS"
  if ((i % 2 == 0)); then tool_sqlite; baseline; else baseline; tool_sqlite; fi
  [ -z "${BENCH_BEFORE_BIN:-}" ] || tool_before
  tool_rerun
  tool_jsonl
done

# Same rows on both sides?
tool_rows=$(sqlite3 "$WORK/tool.sqlite" "SELECT count(*) FROM qa_pairs")
base_rows=$(sqlite3 "$WORK/base.sqlite" "SELECT count(*) FROM qa_pairs")
same=$(sqlite3 "$WORK/tool.sqlite" "ATTACH '$WORK/base.sqlite' AS b;
  SELECT count(*) FROM (SELECT * FROM qa_pairs EXCEPT SELECT * FROM b.qa_pairs)")
[ "$tool_rows" = "$PAIRS" ] && [ "$base_rows" = "$PAIRS" ] && [ "$same" = 0 ] ||
  bench_die "the exports differ: tool $tool_rows rows, baseline $base_rows rows, $same rows differ"

median_col() { awk -v c="$2" '{ print $c }' "$WORK/$1" | bench_median; }
max_col() { awk -v c="$2" 'BEGIN { m = 0 } $c > m { m = $c } END { print m }' "$WORK/$1"; }
ms() { awk -v s="$1" 'BEGIN { printf "%.0f", s * 1000 }'; }

t_sqlite=$(median_col tool_sqlite 1)
t_base=$(awk '{ print $1 }' "$WORK/base_total" | bench_median)
t_copy=$(median_col base_copy 1)
t_jsonl=$(median_col tool_jsonl 1)
t_rerun=$(median_col tool_rerun 1)
rss_kb=$(cat "$WORK/tool_sqlite" "$WORK/tool_jsonl" "$WORK/tool_rerun" | awk '$2 > m { m = $2 } END { print m }')
rss_mb=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
import_rss_mb=$(awk -v k="$(max_col base_import 2)" 'BEGIN { printf "%.1f", k / 1024 }')

echo
echo "trajc export of $PAIRS pairs ($RUNS runs each, medians; file sizes: sqlite $(du -h "$WORK/tool.sqlite" | cut -f1), jsonl $(du -h "$WORK/tool.jsonl" | cut -f1))"
bench_header
bench_report "export_sqlite_vs_baseline" "$(ms "$t_sqlite")" "$(ms "$t_base")" "$TARGET"
[ -z "${BENCH_BEFORE_BIN:-}" ] ||
  bench_report "export_sqlite_before_vs_base" "$(ms "$(median_col tool_before 1)")" "$(ms "$t_base")"
bench_report "export_jsonl_vs_copy_csv" "$(ms "$t_jsonl")" "$(ms "$t_copy")"
bench_report "export_rerun_vs_baseline" "$(ms "$t_rerun")" "$(ms "$t_base")"
echo "baseline = psql \\copy csv ($(ms "$t_copy") ms) + sqlite3 .import ($(ms "$(median_col base_import 1)") ms, peak RSS $import_rss_mb MB)"
verdict=ok
awk -v r="$rss_mb" -v t="$RSS_TARGET_MB" 'BEGIN { exit !(r < t) }' || { verdict=MISSED; BENCH_MISSED=1; }
printf 'peak RSS of trajc export: %s MB (target < %s MB) %s\n' "$rss_mb" "$RSS_TARGET_MB" "$verdict"
[ -z "${BENCH_RESULTS:-}" ] ||
  printf '%s\t%s\t%s\t\t\t%s\n' "$(date -u +%FT%TZ)" export_peak_rss_mb "$rss_mb" "$RSS_TARGET_MB" >>"$BENCH_RESULTS"
bench_finish
