#!/usr/bin/env bash
# bench/compile.sh -- compile throughput, per-session overhead and memory.
#
#   bench/compile.sh            (as root or the cluster owner, from anywhere)
#
# 1. Throughput: 200 sessions against the mock model answering after a fixed
#    250 ms, trajc.concurrency = 1 against 16, side by side; wall time, ratio
#    to the ideal (200 x 0.25 s / 16) and the speed-up over sequential.
#    Targets: <= 1.25 x ideal, speed-up >= 12.
# 2. Overhead: the offline compiler over the top 5,000 sessions of the
#    2,000,000-row log of bench/extract.sh (generated if missing); per-session
#    milliseconds split into extraction, rendering, compile and insert (the
#    driver's DEBUG1 timing line). Target: < 5 ms per session of 100 turns.
# 3. Memory: one 20,000-turn session (~20 MB of text) compiled against the
#    mock with the prompt budget in force; the backend's peak RSS growth
#    (VmHWM), side by side with reading the same rows by hand. Target: < 128 MB.
#
# 4. CPU: the backend's CPU time (/proc/self/schedstat) per session of a
#    batch of the top BENCH_CPU_SESSIONS sessions of that log against the mock
#    answering at once (gemini wire format, concurrency 8), side by side in the
#    same backend with reading and rendering the same sessions' rows by hand
#    (the listing query, then each session's turns with concat_ws), and the
#    driver's split of the batch's time. Issue 16's target: half of the
#    0.31 ms of CPU per session measured before it (compare the ratio).
#
# Environment: BENCH_SESSIONS_TP (200), BENCH_DELAY_MS (250), BENCH_CONCURRENCY (16),
# BENCH_TOP (5000), BENCH_CPU_SESSIONS (2000), BENCH_CPU_RUNS (3),
# BENCH_ONLY (throughput|overhead|memory|cpu: one part), and those of bench/lib.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

TP_SESSIONS=${BENCH_SESSIONS_TP:-200}
DELAY_MS=${BENCH_DELAY_MS:-250}
CONCURRENCY=${BENCH_CONCURRENCY:-16}
TOP=${BENCH_TOP:-5000}

bench_init

MOCK_DIR=$(mktemp -d)
TRAJC_MOCK_DIR=$MOCK_DIR "$REPO/scripts/mock.sh" start >&2
trap 'TRAJC_MOCK_DIR=$MOCK_DIR "$REPO/scripts/mock.sh" stop; rm -rf "$MOCK_DIR"' EXIT
MOCK_URL=http://127.0.0.1:$(cat "$MOCK_DIR/mock.port")
# A second mock with the fixed delay, for the throughput runs.
python3 "$REPO/test/mock/mock_model_server.py" --port 0 --port-file "$MOCK_DIR/slow.port" \
  --delay-ms "$DELAY_MS" >"$MOCK_DIR/slow.log" 2>&1 &
SLOW_PID=$!
trap 'kill $SLOW_PID 2>/dev/null; TRAJC_MOCK_DIR=$MOCK_DIR "$REPO/scripts/mock.sh" stop; rm -rf "$MOCK_DIR"' EXIT
for _ in $(seq 100); do [ -s "$MOCK_DIR/slow.port" ] && break; sleep 0.1; done
SLOW_URL=http://127.0.0.1:$(cat "$MOCK_DIR/slow.port")

mock_settings() {
  printf "SET trajc.provider = 'gemini'; SET trajc.gemini_base_url = '%s';
SET trajc.gemini_api_key = 'bench-key'; SET trajc.max_retries = 0;" "$1"
}

# ------------------------------------------------------------ 1. throughput
want() { [ -z "${BENCH_ONLY:-}" ] || [ "$BENCH_ONLY" = "$1" ]; }
if want throughput; then
bench_psql -q -v table=bench_tp_log -v sessions="$TP_SESSIONS" -v min_turns=12 -v max_turns=40 \
  -v short_pct=0 -v long_pct=0 -v null_pct=0 -f "$REPO/scripts/sample_audit_log.sql" >/dev/null
run_batch() {  # concurrency -> wall ms
  bench_time_runs "$(mock_settings "$SLOW_URL") SET trajc.source = 'bench_tp_log';
SET trajc.concurrency = $1;" \
    "SELECT count(*) FROM trajc_compile_batch(1, $TP_SESSIONS, force => true)"
}
echo "== throughput: $TP_SESSIONS sessions, mock answers after $DELAY_MS ms"
seq_ms=$(run_batch 1)
par_ms=$(run_batch "$CONCURRENCY")
ideal_ms=$(awk -v n="$TP_SESSIONS" -v d="$DELAY_MS" -v c="$CONCURRENCY" 'BEGIN { printf "%.1f", n * d / c }')
ok=$(bench_scalar "SELECT count(*) FROM trajc.compile_log WHERE session_id IN
  (SELECT session_id FROM (SELECT DISTINCT session_id FROM bench_tp_log) s) AND status = 'ok'
  AND finished_at > now() - interval '10 minutes'")
bench_header
bench_report "concurrency $CONCURRENCY vs ideal" "$par_ms" "$ideal_ms" 1.25
bench_report "sequential vs c=$CONCURRENCY" "$seq_ms" "$par_ms"
speedup=$(bench_ratio "$seq_ms" "$par_ms")
awk -v s="$speedup" 'BEGIN { exit !(s >= 12) }' && verdict=ok || { verdict=MISSED; BENCH_MISSED=1; }
echo "speed-up over sequential: ${speedup}x (target >= 12: $verdict); ok compiles logged: $ok"

fi

# ------------------------------------------------------------ 2. overhead
if want overhead; then
echo
echo "== overhead: offline compiler over the top $TOP sessions of bench_audit_log"
if [ "$(bench_scalar "SELECT to_regclass('bench_audit_log') IS NOT NULL")" != t ]; then
  bench_log "bench_audit_log missing: generating it as bench/extract.sh does"
  bench_psql -q -v table=bench_audit_log -v sessions=50000 -v total_rows=2000000 \
    -v long_session_turns=5000 -f "$REPO/scripts/sample_audit_log.sql" >/dev/null
fi
turns=$(bench_scalar "SET trajc.source = 'bench_audit_log';
  SELECT round(avg(turn_count), 1) FROM trajc_extract(10, $TOP)")
out=$(bench_psql -q -c "SET trajc.source = 'bench_audit_log'; SET trajc.provider = 'offline';
  SET client_min_messages = debug1; SET jit = off" -c '\timing on' \
  -c "SELECT count(*) FROM trajc_compile_batch(10, $TOP, force => true)" 2>&1)
wall=$(printf '%s\n' "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
printf '%s\n' "$out" | grep 'trajc run timing' | sed 's/.*timing: //' |
  awk -v n="$TOP" -v wall="$wall" -v turns="$turns" '{
    gsub(/,/, ""); ex = $2; re = $5; co = $8; st = $11
    other = wall - ex - re - co - st
    printf "sessions %d, mean %.1f turns; per session (ms): extract %.3f  render %.3f  compile %.3f  insert %.3f  other %.3f  total %.3f\n",
      n, turns, ex / n, re / n, co / n, st / n, other / n, wall / n
    per100 = wall / n * 100 / turns
    printf "total per session of 100 turns: %.3f ms (target < 5: %s)\n", per100, per100 < 5 ? "ok" : "MISSED"
  }'

fi

# ------------------------------------------------------------ 3. memory
if want memory; then
echo
echo "== memory: one 20,000-turn session (~20 MB of text)"
bench_psql -q <<'SQL'
DROP TABLE IF EXISTS bench_mem_log;
CREATE TABLE bench_mem_log (id bigserial PRIMARY KEY, session_id text, agent text, action text,
                            response text, created_at timestamptz);
INSERT INTO bench_mem_log (session_id, agent, action, response, created_at)
SELECT 'mem-20000', 'agent-' || (g % 5), 'message',
       repeat(md5(g::text), 31), timestamptz '2026-01-01' + g * interval '1 second'
  FROM generate_series(1, 20000) g;
CREATE INDEX ON bench_mem_log (session_id, created_at);
SQL
text_mb=$(bench_scalar "SELECT round(sum(length(response)) / 1048576.0, 1) FROM bench_mem_log")
# Peak RSS counts the shared buffers a backend touches; shared pages stay
# mapped once touched, so private peak growth = VmHWM growth - RssShmem growth.
mem="SELECT (substring(s from 'VmHWM:\\s*(\\d+)'))::int, (substring(s from 'RssShmem:\\s*(\\d+)'))::int
  FROM pg_read_file('/proc/self/status') s"
peak_growth() {  # statement -> private peak RSS growth in MB, in a fresh backend
  bench_psql -qAt -F' ' -c "$mem" -c "$1" -c "$mem" | awk 'NR == 1 { h = $1; s = $2 } { h2 = $1; s2 = $2 }
    END { printf "%.1f\n", ((h2 - h) - (s2 - s)) / 1024 }'
}
trajc_mb=$(peak_growth "$(mock_settings "$MOCK_URL") SET trajc.source = 'bench_mem_log';
  SELECT count(*) FROM trajc_compile('mem-20000')")
base_mb=$(peak_growth "SELECT count(*), sum(length(r)) FROM (SELECT response AS r FROM bench_mem_log
  WHERE session_id = 'mem-20000' ORDER BY created_at, id) s")
printf '%-26s %12s %20s %7s %8s\n' name peak_growth_mb baseline_growth_mb ratio target
printf '%-26s %12s %20s %7s %8s  %s\n' "compile 20,000 turns" "$trajc_mb" "$base_mb" \
  "$(bench_ratio "$trajc_mb" "$base_mb")" "128 MB" \
  "$(awk -v m="$trajc_mb" 'BEGIN { print (m < 128) ? "ok" : "MISSED" }')"
echo "(session text: $text_mb MB)"
fi

# ------------------------------------------------------------ 4. cpu
if want cpu; then
CPU_N=${BENCH_CPU_SESSIONS:-2000}
CPU_RUNS=${BENCH_CPU_RUNS:-3}
echo
echo "== cpu: backend CPU per session, $CPU_N sessions of bench_audit_log, mock answering at once"
if [ "$(bench_scalar "SELECT to_regclass('bench_audit_log') IS NOT NULL")" != t ]; then
  bench_log "bench_audit_log missing: generating it as bench/extract.sh does"
  bench_psql -q -v table=bench_audit_log -v sessions=50000 -v total_rows=2000000 \
    -v long_session_turns=5000 -f "$REPO/scripts/sample_audit_log.sql" >/dev/null
fi
# CPU nanoseconds this backend has run (the first field of schedstat).
CPU_NS="SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint AS ns"
CPU_TRAJC="SELECT count(*) FROM trajc_compile_batch(10, $CPU_N, force => true)"
# By hand: the same listing, then every listed session's rows rendered as
# text (what trajc reads before it builds a prompt).
CPU_BASE="DO \$\$ DECLARE s text; total bigint := 0; BEGIN
  FOR s IN SELECT session_id FROM bench_audit_log WHERE session_id IS NOT NULL GROUP BY session_id
            HAVING count(*) >= 10 ORDER BY count(*) DESC, max(created_at) DESC, 1 LIMIT $CPU_N LOOP
    SELECT total + sum(length(c)) INTO total FROM (SELECT concat_ws(E'\\n', 'id: ' || id, 'agent: ' || agent,
      'tool: ' || tool, 'action: ' || action, 'actor: ' || actor, 'category: ' || category,
      'success: ' || success, 'arguments: ' || arguments::text, 'response: ' || response,
      'cost_usd: ' || cost_usd, 'duration_ms: ' || duration_ms) AS c
      FROM bench_audit_log WHERE session_id = s ORDER BY created_at, id) r;
  END LOOP; END \$\$"
script=$(mktemp)
{
  mock_settings "$MOCK_URL"
  printf "SET trajc.source = 'bench_audit_log'; SET trajc.concurrency = 8; SET jit = off;\n"
  printf "SET client_min_messages = debug1;\n"
  for ((i = 0; i < CPU_RUNS; i++)); do
    for side in trajc base; do
      [ "$side" = trajc ] && sql=$CPU_TRAJC || sql=$CPU_BASE
      printf '%s \\gset a_\n%s;\n%s \\gset b_\n\\echo cpu %s :b_ns :a_ns\n' "$CPU_NS" "$sql" "$CPU_NS" "$side"
    done
  done
} >"$script"
out=$(bench_psql -q -f "$script" 2>&1) || { printf '%s\n' "$out" >&2; rm -f "$script"; bench_die "cpu runs failed"; }
rm -f "$script"
per_session() {  # side -> median CPU ms per session
  printf '%s\n' "$out" | awk -v side="$1" -v n="$CPU_N" '$1 == "cpu" && $2 == side { printf "%.4f\n", ($3 - $4) / 1e6 / n }' | bench_median
}
trajc_ms=$(per_session trajc)
base_ms=$(per_session base)
printf '%-26s %12s %20s %7s\n' name cpu_ms_session baseline_cpu_ms_session ratio
printf '%-26s %12s %20s %7s\n' "batch vs reading by hand" "$trajc_ms" "$base_ms" "$(bench_ratio "$trajc_ms" "$base_ms")"
printf '%s\n' "$out" | grep 'trajc run timing' | tail -1 | sed 's/.*timing: //' |
  awk -v n="$CPU_N" '{ gsub(/,/, ""); printf "driver split of the last batch, ms per session: extract %.3f  render %.3f  compile %.3f  store %.3f\n", $2 / n, $5 / n, $8 / n, $11 / n }'
[ -z "${BENCH_RESULTS:-}" ] || printf '%s\t%s\t%s\t%s\t%s\t\n' "$(date -u +%FT%TZ)" cpu_ms_per_session \
  "$trajc_ms" "$base_ms" "$(bench_ratio "$trajc_ms" "$base_ms")" >>"$BENCH_RESULTS"
fi
bench_finish
