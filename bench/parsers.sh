#!/usr/bin/env bash
# bench/parsers.sh -- linearity of the reply finder and the offline compiler
# (issue 9): times each shape at doubling sizes and prints the ratio between
# consecutive sizes (~2 = linear, ~4 = quadratic). No database needed.
#
#   bench/parsers.sh [shape [start_size [steps]]]   (see bench/parsers.cpp)
#
# Builds build/trajc_bench_parsers with CMake if needed (JOBS, default 2).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
if [ ! -d build ]; then cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null; fi
cmake --build build -j"${JOBS:-2}" --target trajc_bench_parsers >/dev/null
exec build/trajc_bench_parsers "$@"
