#!/usr/bin/env bash
# The `supabase` part of scripts/test.sh: builds (or takes from the cache) the
# real Vault 0.3.1 and supautils 3.4.0 from ../shared/vendor, starts a fresh
# cluster set up like Supabase's (cluster.sh) and runs the TAP files here
# against it and the loopback mock model server. Standalone:
#   test/supabase/run.sh        (starts its own mock when TRAJC_MOCK_URL is unset)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
scripts/vendor.sh install supabase-vault-0.3.1 supautils-3.4.0
test/supabase/cluster.sh destroy
test/supabase/cluster.sh start
eval "$(test/supabase/cluster.sh env)"
cleanup() { test/supabase/cluster.sh stop; }
if [ -z "${TRAJC_MOCK_URL:-}" ]; then
  export TRAJC_MOCK_DIR=$TRAJC_SUPABASE_ROOT
  scripts/mock.sh start >&2
  TRAJC_MOCK_URL=http://127.0.0.1:$(scripts/mock.sh port)
  export TRAJC_MOCK_URL
  cleanup() { scripts/mock.sh stop; test/supabase/cluster.sh stop; }
fi
trap cleanup EXIT
PYTHONDONTWRITEBYTECODE=1 prove -v --exec python3 --ext .py test/supabase/
