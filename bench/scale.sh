#!/usr/bin/env bash
# bench/scale.sh -- how trajc scales (issue 16), each line a ratio measured
# side by side in one run:
#
# 1. extract: trajc_extract(10, 1000) against the hand-written
#    GROUP BY ... mode() ... ORDER BY ... LIMIT, on logs of 0.5M, 2M and 8M
#    rows (12,500 / 50,000 / 200,000 sessions, generated once by
#    scripts/sample_audit_log.sql). Target at 8M: <= 0.2 (5x faster).
# 1b. turns: trajc_turns of a session of 1k, 10k and 100k turns against the
#    hand-written SELECT ... concat_ws(...) ORDER BY (target <= 1.1).
# 2. batch: one offline trajc_compile_batch over 1k, 5k, 20k and 100k
#    sessions of 20 turns each (one table of 100,000 sessions): ms per
#    session, each size's ratio to the 1k run's (flat = linear), the
#    backend's private peak memory growth, and whether it stored every one
#    (before issue 16, 15,000 sessions or more failed with "out of shared
#    memory").
# 3. throughput: a batch at trajc.concurrency 8, 32, 128 and 256 against a
#    mock model answering after 2 s (4 x concurrency sessions), next to
#    curl's own rate on the same mock (curl --parallel, the same number of
#    requests and connections in flight): sessions/s, requests/s, ratio.
#
#   bench/scale.sh            (as root or the cluster owner, from anywhere)
#
# Environment: BENCH_SCALE_ONLY (extract|turns|batch|throughput), BENCH_EXTRACT_SIZES
# ("500000 2000000 8000000"), BENCH_EXTRACT_RUNS (3; the 8M naive query takes
# close to a minute), BENCH_TURNS_SIZES ("1000 10000 100000"), BENCH_BATCH_SIZES ("1000 5000 20000 100000"),
# BENCH_CONCURRENCIES ("8 32 128 256"), BENCH_LATENCY_MS (2000), and those of
# bench/lib.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

want() { [ -z "${BENCH_SCALE_ONLY:-}" ] || [ "$BENCH_SCALE_ONLY" = "$1" ]; }
echo "trajc scaling benchmark, $(date -u +%FT%TZ), load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
bench_init

# ---------------------------------------------------------------- 1. extract
if want extract; then
echo
echo "== extract: trajc_extract(10, 1000) vs the hand-written query (medians of ${BENCH_EXTRACT_RUNS:-3})"
bench_header
for rows in ${BENCH_EXTRACT_SIZES:-500000 2000000 8000000}; do
  sessions=$((rows / 40))
  table=bench_extract_$rows
  [ "$rows" = 2000000 ] && table=bench_audit_log  # bench/extract.sh's
  if [ "$(bench_scalar "SELECT coalesce((SELECT reltuples >= $rows * 0.95 FROM pg_class
                         WHERE oid = to_regclass('$table')), false)")" != t ]; then
    bench_log "generating $table: $rows rows, $sessions sessions"
    bench_psql -q -v table="$table" -v sessions="$sessions" -v total_rows="$rows" \
      -v long_session_turns=5000 -f "$REPO/scripts/sample_audit_log.sql" >/dev/null
    bench_psql -q -c "VACUUM (ANALYZE) $table"
  fi
  naive="SELECT session_id, mode() WITHIN GROUP (ORDER BY agent) AS agent, count(*)::int,
    min(created_at), max(created_at) FROM $table WHERE session_id IS NOT NULL
    GROUP BY session_id HAVING count(*) >= 10 ORDER BY 3 DESC, 5 DESC, 1 LIMIT 1000"
  target=""
  [ "$rows" -ge 8000000 ] && target=0.2
  BENCH_RUNS=${BENCH_EXTRACT_RUNS:-3} bench_time_pair "extract $((rows / 1000))k rows" \
    "SELECT * FROM trajc_extract(10, 1000)" "$naive" "SET trajc.source = '$table';" $target
done
fi

# ---------------------------------------------------------------- 1b. turns
if want turns; then
echo
echo "== turns: trajc_turns of one session vs the hand-written query (medians)"
bench_header
for n in ${BENCH_TURNS_SIZES:-1000 10000 100000}; do
  table=bench_turns_$n
  if [ "$(bench_scalar "SELECT to_regclass('$table') IS NOT NULL")" != t ]; then
    bench_log "generating $table: 20 sessions and long-$n"
    bench_psql -q -v table="$table" -v sessions=20 -v long_session_turns="$n" \
      -f "$REPO/scripts/sample_audit_log.sql" >/dev/null
    bench_psql -q -c "VACUUM (ANALYZE) $table"
  fi
  base="SELECT row_number() OVER (ORDER BY created_at, id)::int AS turn, created_at AS at, agent,
       concat_ws(E'\\n', 'id: ' || id, 'agent: ' || agent, 'tool: ' || tool, 'action: ' || action,
                 'actor: ' || actor, 'category: ' || category, 'success: ' || success,
                 'arguments: ' || arguments::text, 'response: ' || response,
                 'cost_usd: ' || cost_usd, 'duration_ms: ' || duration_ms) AS content
    FROM $table WHERE session_id = 'long-$n' ORDER BY created_at, id"
  runs=$((n >= 100000 ? 7 : n >= 10000 ? 15 : 41))
  BENCH_RUNS=${BENCH_TURNS_RUNS:-$runs} bench_time_pair "turns $n" \
    "SELECT * FROM trajc_turns('long-$n')" "$base" "SET trajc.source = '$table';" 1.1
done
fi

# ---------------------------------------------------------------- 2. batch
if want batch; then
echo
echo "== batch: one offline trajc_compile_batch(1, N, force => true) over N sessions of 20 turns"
if [ "$(bench_scalar "SELECT to_regclass('bench_batch_log') IS NOT NULL")" != t ]; then
  bench_log "generating bench_batch_log: 100,000 sessions of 20 turns"
  bench_psql -q <<'SQL'
CREATE TABLE bench_batch_log (id bigserial PRIMARY KEY, session_id text NOT NULL,
  created_at timestamptz NOT NULL, agent text, tool text, success boolean, arguments jsonb,
  response text);
INSERT INTO bench_batch_log (session_id, created_at, agent, tool, success, arguments, response)
SELECT 'b-' || s, timestamptz '2026-01-01' + (s * 20 + t) * interval '1 second',
       'agent-' || (s + t / 7) % 4, (ARRAY['search', 'read_file', 'run_tests', 'edit_file'])[1 + (s + t) % 4],
       (s + t) % 9 <> 0, jsonb_build_object('path', 'src/f' || t % 5 || '.c', 'attempt', 1 + t % 3),
       'result of step ' || t || ' in session ' || s
  FROM generate_series(1, 100000) s, generate_series(1, 20) t;
CREATE INDEX ON bench_batch_log (session_id, created_at);
VACUUM (ANALYZE) bench_batch_log;
SQL
fi
# Private peak growth of the backend (VmHWM minus shared pages touched), as
# in bench/compile.sh's memory part.
mem="SELECT (substring(s from 'VmHWM:\\s*(\\d+)'))::int, (substring(s from 'RssShmem:\\s*(\\d+)'))::int
  FROM pg_read_file('/proc/self/status') s"
printf '%-26s %10s %12s %12s %14s %8s\n' name sessions ms_session ratio_to_1k peak_growth_mb stored
first=""
for n in ${BENCH_BATCH_SIZES:-1000 5000 20000 100000}; do
  out=$(bench_psql -qAt -F' ' -c "SET trajc.source = 'bench_batch_log'; SET trajc.provider = 'offline'" \
    -c "$mem" -c '\timing on' \
    -c "SELECT count(*) FILTER (WHERE status IN ('ok', 'empty')) FROM trajc_compile_batch(1, $n, force => true)" \
    -c '\timing off' -c "$mem" 2>&1) || true
  if printf '%s\n' "$out" | grep -q 'ERROR' || ! printf '%s\n' "$out" | grep -q '^Time:'; then
    printf '%-26s %10s %12s %12s %14s %8s  %s\n' "batch of $n" "$n" - - - 0 \
      "$(printf '%s\n' "$out" | grep -m1 ERROR || echo failed)"
    continue
  fi
  ms=$(printf '%s\n' "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
  stored=$(printf '%s\n' "$out" | awk 'NF == 1 && $1 ~ /^[0-9]+$/ { print $1 }' | tail -1)
  peak=$(printf '%s\n' "$out" | awk 'NF == 2 { if (!h) { h = $1; s = $2 } else { h2 = $1; s2 = $2 } }
    END { printf "%.1f", ((h2 - h) - (s2 - s)) / 1024 }')
  per=$(awk -v t="$ms" -v n="$n" 'BEGIN { printf "%.3f", t / n }')
  [ -n "$first" ] || first=$per
  printf '%-26s %10s %12s %12s %14s %8s\n' "batch of $n" "$n" "$per" "$(bench_ratio "$per" "$first")" "$peak" "$stored"
  [ -z "${BENCH_RESULTS:-}" ] || printf '%s\t%s\t%s\t%s\t%s\t\n' "$(date -u +%FT%TZ)" "batch_$n" "$per" "$first" \
    "$(bench_ratio "$per" "$first")" >>"$BENCH_RESULTS"
done
fi

# ---------------------------------------------------------------- 3. throughput
if want throughput; then
LATENCY=${BENCH_LATENCY_MS:-2000}
echo
echo "== throughput: mock answering after $LATENCY ms; trajc batch vs curl --parallel on the same mock"
MOCK_DIR=$(mktemp -d)
python3 "$REPO/test/mock/mock_model_server.py" --port 0 --port-file "$MOCK_DIR/port" \
  --delay-ms "$LATENCY" >"$MOCK_DIR/log" 2>&1 &
MOCK_PID=$!
trap 'kill $MOCK_PID 2>/dev/null; rm -rf "$MOCK_DIR"' EXIT
for _ in $(seq 100); do [ -s "$MOCK_DIR/port" ] && break; sleep 0.1; done
URL=http://127.0.0.1:$(cat "$MOCK_DIR/port")
# Sessions of 12 turns, as many as the largest run needs.
max_c=0
for c in ${BENCH_CONCURRENCIES:-8 32 128 256}; do [ "$c" -gt "$max_c" ] && max_c=$c; done
bench_psql -q -v table=bench_tp_scale -v sessions=$((4 * max_c)) -v min_turns=12 -v max_turns=12 \
  -v mean_turns=12 -v short_pct=0 -v long_pct=0 -v null_pct=0 -f "$REPO/scripts/sample_audit_log.sql" >/dev/null
# curl's request: a prompt the size of trajc's for one of these sessions.
prompt_bytes=$(bench_scalar "SET trajc.source = 'bench_tp_scale'; SET trajc.provider = 'gemini';
  SELECT tokens_in * 4 FROM trajc_estimate(1, 1)")
python3 - "$MOCK_DIR/body.json" "$prompt_bytes" <<'PY'
import json, sys
path, size = sys.argv[1], int(sys.argv[2])
turns = "\n\n".join("### Turn %d (2026-01-01T00:00:%02dZ, agent)\ntool: search\nresponse: step %d" % (t, t, t)
                    for t in range(1, 13))
prompt = "Session: curl\nTurns: 12\n\n" + turns
prompt += "\n" + "x" * max(0, size - len(prompt))
json.dump({"contents": [{"role": "user", "parts": [{"text": prompt}]}],
           "generationConfig": {"responseMimeType": "application/json"}}, open(path, "w"))
PY
printf '%-26s %10s %12s %14s %8s\n' name requests trajc_per_s curl_per_s ratio
for c in ${BENCH_CONCURRENCIES:-8 32 128 256}; do
  n=$((4 * c))
  {
    for ((i = 0; i < n; i++)); do
      printf 'url = "%s/v1beta/models/bench:generateContent"\noutput = "/dev/null"\n' "$URL"
    done
  } >"$MOCK_DIR/curl.conf"
  run_curl() {
    local s e
    s=$(date +%s.%N)
    curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max "$c" -X POST -H 'Content-Type: application/json' \
      -H 'x-goog-api-key: bench' --data-binary @"$MOCK_DIR/body.json" -K "$MOCK_DIR/curl.conf" >/dev/null 2>&1
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" -v n="$n" 'BEGIN { printf "%.1f", n / (e - s) }'
  }
  run_trajc() {
    local ms ok
    ms=$(bench_time_runs "SET trajc.source = 'bench_tp_scale'; SET trajc.provider = 'gemini';
SET trajc.gemini_base_url = '$URL'; SET trajc.gemini_api_key = 'bench'; SET trajc.max_retries = 0;
SET trajc.concurrency = $c;" "SELECT count(*) FROM trajc_compile_batch(1, $n, force => true)")
    ok=$(bench_scalar "SELECT count(*) FROM (SELECT status FROM trajc.compile_log
      WHERE session_id LIKE 's-%' AND provider = 'gemini' ORDER BY id DESC LIMIT $n) l WHERE status = 'ok'")
    [ "$ok" = "$n" ] || bench_log "concurrency $c: only $ok of $n sessions ok"
    awk -v t="$ms" -v n="$n" 'BEGIN { printf "%.1f", n / (t / 1000) }'
  }
  # Alternating, so that load drift hits both.
  t1=$(run_trajc); c1=$(run_curl); c2=$(run_curl); t2=$(run_trajc)
  tr=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", (a + b) / 2 }')
  cr=$(awk -v a="$c1" -v b="$c2" 'BEGIN { printf "%.1f", (a + b) / 2 }')
  printf '%-26s %10s %12s %14s %8s\n' "concurrency $c" "$n" "$tr" "$cr" "$(bench_ratio "$tr" "$cr")"
  [ -z "${BENCH_RESULTS:-}" ] || printf '%s\t%s\t%s\t%s\t%s\t\n' "$(date -u +%FT%TZ)" "throughput_c$c" "$tr" "$cr" \
    "$(bench_ratio "$tr" "$cr")" >>"$BENCH_RESULTS"
done
echo "(ideal for both: concurrency / $(awk -v l="$LATENCY" 'BEGIN { print l / 1000 }') s per request)"
fi
bench_finish
