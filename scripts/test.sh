#!/usr/bin/env bash
# The whole test suite, each part against a private throwaway cluster and a
# loopback mock model server:
#   unit     GoogleTest via ctest (the pure core, against the mock)
#   regress  pg_regress via `make installcheck` (test/regress/sql against
#            test/regress/expected)
#   upgrade  0.1.0 updated to the default version vs. a fresh install: catalog
#            and pg_dump compared; a used database dumped and restored, in
#            UTF8 and LATIN1 (test/upgrade/*.py)
#   pgtap    pgTAP via pg_prove (test/pgtap/*.sql; fixtures/ is included by them)
#   cli      the companion tool via prove (test/cli/)
#   supabase a cluster set up like Supabase's, with the real Vault and
#            supautils built from ../shared/vendor (test/supabase/run.sh)
#   packaging META.json (PGXN) and LICENSE (test/packaging/)
#   asan     the same GoogleTest suite under ASan+UBSan (clang, build-asan/)
#   fuzz     libFuzzer over every parser of untrusted input, a fixed number of
#            inputs from the seeds in test/fuzz/corpus/ (build-asan/)
# Fails if any part fails or runs no test. Logs stay in the cluster directory.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
scripts/setup-deps.sh
scripts/build.sh || exit 1

eval "$(scripts/test-env.sh start)" || exit 1
trap 'scripts/test-env.sh stop' EXIT

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

PART_EVIDENCE='^Result: PASS' part upgrade \
  prove --exec python3 --ext .py test/upgrade/

# pgTAP: a fresh database with pgtap and trajc.
dropdb --if-exists -f trajc_tap >/dev/null 2>&1
createdb trajc_tap && psql -X -q -d trajc_tap -c 'CREATE EXTENSION pgtap; CREATE EXTENSION trajc;' \
  || exit 1
# No --recurse: test/pgtap/fixtures/ holds what the tests include, not tests.
PART_EVIDENCE='^Result: PASS' part pgtap \
  pg_prove -d trajc_tap --ext .sql test/pgtap/

PART_EVIDENCE='^Result: PASS' part cli \
  env TRAJC_BIN="$REPO/build/trajc" prove --exec python3 --ext .py test/cli/

PART_EVIDENCE='^Result: PASS' part supabase test/supabase/run.sh

PART_EVIDENCE='^Result: PASS' part packaging prove --exec python3 --ext .py test/packaging/

# Sanitizers and the fuzzer need their own (clang, instrumented) build; it
# needs no cluster. Its build log is shown only if the build fails.
sanitized_suite() {
  local log=$TRAJC_MOCK_DIR/build-asan.log
  { cmake -S . -B build-asan -DCMAKE_CXX_COMPILER=clang++ -DTRAJC_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" && cmake --build build-asan -j"${JOBS:-2}"; } >"$log" 2>&1 \
    || { tail -60 "$log"; return 1; }
  (cd build-asan && ctest --output-on-failure --no-tests=error -j2)
}
PART_EVIDENCE='tests passed' part asan sanitized_suite

# New inputs go to a scratch directory, crash reproducers next to the logs;
# -seed makes the run the same on every machine.
fuzz_parsers() {
  local scratch rc
  scratch=$(mktemp -d)
  build-asan/trajc_fuzz_parsers -runs="${TRAJC_FUZZ_RUNS:-40000}" -seed=1 -max_len=65536 -timeout=30 \
    -rss_limit_mb=2560 -print_final_stats=1 -dict=test/fuzz/json.dict \
    -artifact_prefix="$TRAJC_MOCK_DIR/fuzz-" "$scratch" test/fuzz/corpus 2>&1 | grep -v '^#'
  rc=${PIPESTATUS[0]}
  rm -rf "$scratch"
  return "$rc"
}
PART_EVIDENCE='^Done [0-9]+ runs' part fuzz fuzz_parsers

echo
printf '%s\n' "${SUMMARY[@]}"
exit $FAILED
