#!/usr/bin/env bash
# Builds and installs the extension (PGXS) and builds the core, its unit tests
# and the companion tool (CMake), then installs the tool to /usr/local/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
make -s -j"$JOBS"
make -s install
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"
if [ -x build/trajc ] && [ -w /usr/local/bin ]; then
  install -m 0755 build/trajc /usr/local/bin/trajc
fi
