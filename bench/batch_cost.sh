#!/usr/bin/env bash
# bench/batch_cost.sh -- what provider batch mode saves: the same sessions
# compiled online (CALL trajc_compile_pending) and in batch mode (CALL
# trajc_batch_submit, then trajc_batch_collect until every job is collected),
# for each vendor, against the mock model server's usage figures (input =
# prompt chars / 4, output = reply chars / 4, Gemini + 7 thinking tokens).
# Prints sessions, tokens and cost of both runs and their ratio; the batch
# run must use the same tokens and cost batch_discount (0.5) times as much.
#
#   bench/batch_cost.sh        (as root or the cluster owner, from anywhere)
#
# Environment: BENCH_SESSIONS (200), BENCH_DB (trajc_bench_batch), and those
# of bench/lib.sh (BENCH_INSTALL, TRAJC_PGROOT, TRAJC_PGPORT).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SESSIONS=${BENCH_SESSIONS:-200}
DB=${BENCH_DB:-trajc_bench_batch}

bench_init
MOCK_DIR=$(mktemp -d)
TRAJC_MOCK_DIR=$MOCK_DIR "$REPO/scripts/mock.sh" start >&2
trap 'TRAJC_MOCK_DIR=$MOCK_DIR "$REPO/scripts/mock.sh" stop; rm -rf "$MOCK_DIR"' EXIT
MOCK_URL=http://127.0.0.1:$(cat "$MOCK_DIR/mock.port")

bench_psql -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >&2
bench_psql -q -d "$DB" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION trajc' >&2
bench_psql -q -d "$DB" -v sessions="$SESSIONS" -v mean_turns=40 -v short_pct=0 \
  -f "$REPO/scripts/sample_audit_log.sql" >/dev/null

settings() {
  printf "SET client_min_messages = warning; SET trajc.provider = '%s';
SET trajc.%s_base_url = '%s'; SET trajc.%s_api_key = 'bench-key'; SET trajc.max_retries = 0;
SET trajc.concurrency = 16;" "$1" "$1" "$MOCK_URL" "$1"
}

# sessions|tokens_in|tokens_out|cost of the compile_log rows written so far
totals() {
  bench_psql -qAt -d "$DB" -c "SELECT count(*), sum(tokens_in), sum(tokens_out), sum(cost_usd)
    FROM trajc.compile_log WHERE status <> 'skipped'"
}

forget() {
  bench_psql -q -d "$DB" -c "DELETE FROM trajc.batches; DELETE FROM trajc.qa_pairs; DELETE FROM trajc.compile_log" >/dev/null
}

printf '%-10s %8s %12s %11s %12s   %8s %12s %11s %12s   %s\n' provider sessions tokens_in tokens_out \
  online_usd sessions tokens_in tokens_out batch_usd batch/online
for provider in gemini openai anthropic; do
  forget
  { settings "$provider"; echo "CALL trajc_compile_pending(10, 0);"; } | bench_psql -q -d "$DB" >/dev/null
  IFS='|' read -r on_n on_in on_out on_cost <<<"$(totals)"
  forget
  { settings "$provider"; echo "CALL trajc_batch_submit(10, 0);"; } | bench_psql -q -d "$DB" >/dev/null
  for _ in $(seq 10); do
    [ "$(bench_psql -qAt -d "$DB" -c 'SELECT count(*) FROM trajc.batches WHERE collected_at IS NULL')" = 0 ] && break
    { settings "$provider"; echo "CALL trajc_batch_collect();"; } | bench_psql -q -d "$DB" >/dev/null
  done
  IFS='|' read -r b_n b_in b_out b_cost <<<"$(totals)"
  ratio=$(awk -v b="$b_cost" -v o="$on_cost" 'BEGIN { printf "%.4f", (o > 0 ? b / o : 0) }')
  printf '%-10s %8s %12s %11s %12s   %8s %12s %11s %12s   %s\n' "$provider" "$on_n" "$on_in" "$on_out" \
    "$on_cost" "$b_n" "$b_in" "$b_out" "$b_cost" "$ratio"
done
bench_psql -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >&2
