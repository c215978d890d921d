#!/usr/bin/env bash
# The whole test suite, each part against a private throwaway cluster and a
# loopback mock model server:
#   unit     GoogleTest via ctest (the pure core, against the mock)
#   regress  pg_regress via `make installcheck` (sql/ against expected/)
#   pgtap    pgTAP via pg_prove (test/pgtap/)
#   cli      the companion tool via prove (test/cli/)
# Fails if any part fails or runs no test. Logs stay in the cluster directory.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
scripts/setup-deps.sh
scripts/build.sh || exit 1

export TRAJC_PGROOT=${TRAJC_TEST_PGROOT:-$REPO/.pgcluster-test}
export TRAJC_PGPORT=${TRAJC_TEST_PGPORT:-54330}
scripts/pgcluster.sh restart || exit 1
eval "$(scripts/pgcluster.sh env)"
export TRAJC_MOCK_DIR=$(scripts/pgcluster.sh root)
scripts/mock.sh start || exit 1
MOCK_URL=http://127.0.0.1:$(scripts/mock.sh port)
export TRAJC_MOCK_URL=$MOCK_URL
cleanup() { scripts/mock.sh stop; scripts/pgcluster.sh stop >/dev/null; }
trap cleanup EXIT

# Every provider points at the mock, with test keys: no test reaches the network.
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL || exit 1
ALTER SYSTEM SET trajc.gemini_base_url = '$MOCK_URL';
ALTER SYSTEM SET trajc.openai_base_url = '$MOCK_URL';
ALTER SYSTEM SET trajc.anthropic_base_url = '$MOCK_URL';
ALTER SYSTEM SET trajc.gemini_api_key = 'test-gemini-key-s3cr3t';
ALTER SYSTEM SET trajc.openai_api_key = 'test-openai-key-s3cr3t';
ALTER SYSTEM SET trajc.anthropic_api_key = 'test-anthropic-key-s3cr3t';
ALTER SYSTEM SET trajc.max_retries = 2;
SELECT pg_reload_conf();
SQL

declare -a SUMMARY=()
FAILED=0
part() {
  local name=$1; shift
  echo "=== $name"
  local log=$TRAJC_MOCK_DIR/test-$name.log
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    SUMMARY+=("$name: FAILED (log $log)"); FAILED=1
  elif ! grep -Eq "$PART_EVIDENCE" "$log"; then
    SUMMARY+=("$name: FAILED (ran no test)"); FAILED=1
  else
    SUMMARY+=("$name: ok")
  fi
}

PART_EVIDENCE='tests passed' part unit \
  bash -c 'cd build && ctest --output-on-failure --no-tests=error -j2'

PART_EVIDENCE='All [0-9]+ tests passed|tests passed' part regress \
  bash -c 'make -s installcheck || { cat regression.diffs 2>/dev/null | head -200; exit 1; }'

# pgTAP: a fresh database with pgtap and trajc.
dropdb --if-exists -f trajc_tap >/dev/null 2>&1
createdb trajc_tap && psql -X -q -d trajc_tap -c 'CREATE EXTENSION pgtap; CREATE EXTENSION trajc;' \
  || exit 1
PART_EVIDENCE='^Result: PASS' part pgtap \
  pg_prove -d trajc_tap --ext .sql -r test/pgtap/

PART_EVIDENCE='^Result: PASS' part cli \
  env TRAJC_BIN="$REPO/build/trajc" prove --exec python3 -r test/cli/

echo
printf '%s\n' "${SUMMARY[@]}"
exit $FAILED
