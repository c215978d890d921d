#!/usr/bin/env bash
# The Citus part of the test suite: a throwaway coordinator + two workers
# (scripts/citus-cluster.sh; Citus from the cached build of
# scripts/citus-build.sh), with a mock model server of its own (the tests
# reset and read its request log), then the TAP tests of test/citus/.
# The cluster is destroyed before (a clean start) and stopped after; its
# logs stay in its directory until the next run.
#
#   test/citus/run.sh        (inside or outside scripts/test-env.sh)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
export TRAJC_CITUS_ROOT=${TRAJC_CITUS_TEST_ROOT:-$REPO/.citus-cluster-test}
unset TRAJC_MOCK_URL
scripts/citus-cluster.sh destroy >/dev/null 2>&1 || true
scripts/citus-cluster.sh start
trap 'scripts/citus-cluster.sh stop >/dev/null 2>&1' EXIT
eval "$(scripts/citus-cluster.sh env)"
TRAJC_MOCK_URL=http://127.0.0.1:$(cat "$TRAJC_CITUS_ROOT/mock.port")
export TRAJC_MOCK_URL
prove --exec python3 --ext .py test/citus/
