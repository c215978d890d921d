#!/usr/bin/env bash
# The environment every database test runs in: a private throwaway cluster
# (port 54330) and the loopback mock model server, with every provider's base
# URL and a test key pointing at the mock, so no test reaches the network.
#
#   eval "$(scripts/test-env.sh start)"   # starts both, prints exports
#   scripts/test-env.sh stop
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
export TRAJC_PGROOT=${TRAJC_TEST_PGROOT:-$REPO/.pgcluster-test}
export TRAJC_PGPORT=${TRAJC_TEST_PGPORT:-54330}
cd "$REPO"
case "${1:-}" in
  start)
    scripts/pgcluster.sh restart >&2
    eval "$(scripts/pgcluster.sh env)"
    export TRAJC_MOCK_DIR; TRAJC_MOCK_DIR=$(scripts/pgcluster.sh root)
    scripts/mock.sh start >&2
    url=http://127.0.0.1:$(scripts/mock.sh port)
    psql -X -q -v ON_ERROR_STOP=1 -d postgres >&2 <<SQL
ALTER SYSTEM SET trajc.gemini_base_url = '$url';
ALTER SYSTEM SET trajc.openai_base_url = '$url';
ALTER SYSTEM SET trajc.anthropic_base_url = '$url';
ALTER SYSTEM SET trajc.gemini_api_key = 'test-gemini-key-s3cr3t';
ALTER SYSTEM SET trajc.openai_api_key = 'test-openai-key-s3cr3t';
ALTER SYSTEM SET trajc.anthropic_api_key = 'test-anthropic-key-s3cr3t';
ALTER SYSTEM SET trajc.max_retries = 2;
SELECT pg_reload_conf();
SQL
    scripts/pgcluster.sh env
    echo "export TRAJC_PGROOT=$TRAJC_PGROOT TRAJC_PGPORT=$TRAJC_PGPORT"
    echo "export TRAJC_MOCK_DIR=$TRAJC_MOCK_DIR TRAJC_MOCK_URL=$url"
    ;;
  stop)
    TRAJC_MOCK_DIR=$(scripts/pgcluster.sh root) scripts/mock.sh stop
    scripts/pgcluster.sh stop >&2
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
