#!/usr/bin/env bash
# bench/client.sh -- the client engine (`trajc compile --engine client`,
# issue 10) side by side with the extension's compile.
#
#   bench/client.sh            (as root or the cluster owner, from anywhere)
#
# 2. Throughput: 200 sessions against the mock model answering after a fixed
#    250 ms, concurrency 16, compiled by the tool in its own process; wall
#    time against the ideal (200 x 0.25 s / 16). Target: <= 1.25 x ideal.
#    The extension's trajc_compile_batch on the same sessions, for reference.
# 1. Overhead per session: the offline compiler over BENCH_SESSIONS_OH
#    sessions, the tool over a TCP connection (127.0.0.1: every row and
#    insert crosses a socket, as with a hosted database, minus its latency)
#    against trajc_compile_batch in the backend. Milliseconds per session.
#
# Environment: BENCH_SESSIONS_TP (200), BENCH_DELAY_MS (250), BENCH_CONCURRENCY (16),
# BENCH_SESSIONS_OH (1000), TRAJC_BIN (build/trajc), and those of bench/lib.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

TP_SESSIONS=${BENCH_SESSIONS_TP:-200}
DELAY_MS=${BENCH_DELAY_MS:-250}
CONCURRENCY=${BENCH_CONCURRENCY:-16}
OH_SESSIONS=${BENCH_SESSIONS_OH:-1000}
TRAJC=${TRAJC_BIN:-$REPO/build/trajc}
[ -x "$TRAJC" ] || bench_die "no $TRAJC: build it first (scripts/build.sh)"

bench_init

MOCK_DIR=$(mktemp -d)
python3 "$REPO/test/mock/mock_model_server.py" --port 0 --port-file "$MOCK_DIR/slow.port" \
  --delay-ms "$DELAY_MS" >"$MOCK_DIR/slow.log" 2>&1 &
SLOW_PID=$!
trap 'kill $SLOW_PID 2>/dev/null; rm -rf "$MOCK_DIR"' EXIT
for _ in $(seq 100); do [ -s "$MOCK_DIR/slow.port" ] && break; sleep 0.1; done
SLOW_URL=http://127.0.0.1:$(cat "$MOCK_DIR/slow.port")

now_ms() { date +%s%3N; }
# The tool's wall time in ms for one run with these arguments.
time_tool() {
  local t0 t1
  t0=$(now_ms)
  "$@" >/dev/null 2>"$MOCK_DIR/tool.err" || { cat "$MOCK_DIR/tool.err" >&2; bench_die "trajc failed"; }
  t1=$(now_ms)
  echo $((t1 - t0))
}
median3() { printf '%s\n' "$@" | bench_median; }

# ------------------------------------------------------------ 1. overhead (first: its restart binds a TCP port, which the
# throughput run's many loopback connections could be holding in TIME-WAIT)
echo "== overhead: offline compiler, $OH_SESSIONS sessions; the tool over TCP vs the backend"
bench_psql -q -v table=bench_client_oh -v sessions="$OH_SESSIONS" -v min_turns=50 -v max_turns=150 \
  -v short_pct=0 -v long_pct=0 -v null_pct=0 -f "$REPO/scripts/sample_audit_log.sql" >/dev/null
turns=$(bench_scalar "SELECT round(count(*)::numeric / count(DISTINCT session_id)) FROM bench_client_oh")
# The private cluster listens on a Unix socket only: loopback TCP for this
# part (trust, as the cluster's initdb set it), reset at the end.
bench_scalar "ALTER SYSTEM SET listen_addresses = '127.0.0.1'" >/dev/null
"$PGCLUSTER" restart >&2
trap 'kill $SLOW_PID 2>/dev/null; rm -rf "$MOCK_DIR"; bench_scalar "ALTER SYSTEM RESET listen_addresses" >/dev/null; "$PGCLUSTER" restart >&2' EXIT
client_oh() {
  time_tool env PGHOST=127.0.0.1 "$TRAJC" compile --engine client --provider offline \
    --source bench_client_oh --min-turns 1 --limit 0 --force
}
server_oh() {
  bench_time_runs "SET trajc.provider = 'offline'; SET trajc.source = 'bench_client_oh';" \
    "SELECT count(*) FROM trajc_compile_batch(1, 0, force => true)"
}
c=(); s=()
for _ in 1 2 3; do c+=("$(client_oh)"); s+=("$(server_oh)"); done
client_ms=$(median3 "${c[@]}")
server_ms=$(median3 "${s[@]}")
per() { awk -v t="$1" -v n="$OH_SESSIONS" 'BEGIN { printf "%.2f", t / n }'; }
bench_header
bench_report "ms/session, tool via TCP" "$(per "$client_ms")" "$(per "$server_ms")"
echo "(mean $turns turns per session; baseline: trajc_compile_batch in the backend)"
# ------------------------------------------------------------ 2. throughput
bench_psql -q -v table=bench_client_tp -v sessions="$TP_SESSIONS" -v min_turns=12 -v max_turns=40 \
  -v short_pct=0 -v long_pct=0 -v null_pct=0 -f "$REPO/scripts/sample_audit_log.sql" >/dev/null
client_tp() {
  time_tool env GEMINI_API_KEY=bench-key TRAJC_GEMINI_BASE_URL="$SLOW_URL" "$TRAJC" compile \
    --engine client --provider gemini --source bench_client_tp --min-turns 1 --limit 0 --force \
    --concurrency "$CONCURRENCY" --max-retries 0
}
server_tp() {
  bench_time_runs "SET trajc.provider = 'gemini'; SET trajc.gemini_base_url = '$SLOW_URL';
SET trajc.gemini_api_key = 'bench-key'; SET trajc.max_retries = 0;
SET trajc.source = 'bench_client_tp'; SET trajc.concurrency = $CONCURRENCY;" \
    "SELECT count(*) FROM trajc_compile_batch(1, $TP_SESSIONS, force => true)"
}
echo
echo "== throughput: $TP_SESSIONS sessions, mock answers after $DELAY_MS ms, concurrency $CONCURRENCY"
c=(); s=()
for _ in 1 2 3; do c+=("$(client_tp)"); s+=("$(server_tp)"); done
client_ms=$(median3 "${c[@]}")
server_ms=$(median3 "${s[@]}")
ideal_ms=$(awk -v n="$TP_SESSIONS" -v d="$DELAY_MS" -v k="$CONCURRENCY" 'BEGIN { printf "%.1f", n * d / k }')
bench_header
bench_report "client c=$CONCURRENCY vs ideal" "$client_ms" "$ideal_ms" 1.25
bench_report "client vs server engine" "$client_ms" "$server_ms"

bench_finish
