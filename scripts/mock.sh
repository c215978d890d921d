#!/usr/bin/env bash
# Starts/stops the loopback mock model server used by the tests.
#   scripts/mock.sh start [port] | stop | port
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
DIR=${TRAJC_MOCK_DIR:-$REPO/.pgcluster-test}
mkdir -p "$DIR"
case "${1:-}" in
  start)
    "$0" stop
    rm -f "$DIR/mock.port"
    python3 "$REPO/test/mock/mock_model_server.py" --port "${2:-0}" --port-file "$DIR/mock.port" \
      >"$DIR/mock.log" 2>&1 &
    echo $! >"$DIR/mock.pid"
    for _ in $(seq 100); do [ -s "$DIR/mock.port" ] && break; sleep 0.1; done
    [ -s "$DIR/mock.port" ] || { echo "mock server did not start" >&2; cat "$DIR/mock.log" >&2; exit 1; }
    echo "mock: listening on 127.0.0.1:$(cat "$DIR/mock.port")"
    ;;
  stop)
    if [ -s "$DIR/mock.pid" ]; then kill "$(cat "$DIR/mock.pid")" 2>/dev/null || true; rm -f "$DIR/mock.pid"; fi
    ;;
  port) cat "$DIR/mock.port" ;;
  *) echo "usage: $0 start [port]|stop|port" >&2; exit 2 ;;
esac
