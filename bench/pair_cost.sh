#!/usr/bin/env bash
# bench/pair_cost.sh -- per-pair cost of near-duplicate fingerprints, literal
# verification and PII redaction in the core, each against a baseline run
# side by side (see bench/pair_cost.cpp). No database needed.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$REPO" -B "$REPO/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$REPO/build" --target trajc_pair_cost -j"${JOBS:-2}" >/dev/null
"$REPO/build/trajc_pair_cost"
