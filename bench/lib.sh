# bench/lib.sh -- shared helpers for the benchmarks (source it, don't run it).
#
#   . "$(dirname "$0")/lib.sh"
#   bench_init                      # cluster up, trajc installed and created
#   bench_time_pair NAME SQL BASELINE_SQL [SETUP_SQL]
#
# Settings (environment):
#   BENCH_RUNS      timed runs per statement, after one warm-up each  (7)
#   BENCH_INSTALL   auto: `make install` only if trajc is not installed;
#                   always: rebuild and install first (then restart the
#                   cluster, which preloads trajc.so); never: don't touch it
#   BENCH_RESULTS   if set, a file to which result lines are appended (TSV:
#                   date, name, median_ms, baseline_median_ms, ratio, target)
#   BENCH_STRICT    1: bench_finish exits 1 if a ratio missed its target
#   TRAJC_PGROOT / TRAJC_PGPORT   passed through to scripts/pgcluster.sh
#
# Timing: one psql session per pair, `\timing on`, results sent to /dev/null,
# so a run's time is the client-side round trip of the statement (no EXPLAIN
# ANALYZE overhead). The statement and its baseline alternate (AB, BA, AB, ...)
# so that drift (cache warming, autovacuum, a noisy neighbour) hits both alike.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
PGCLUSTER=$REPO/scripts/pgcluster.sh
BENCH_RUNS=${BENCH_RUNS:-7}
BENCH_INSTALL=${BENCH_INSTALL:-auto}
BENCH_MISSED=0
export LC_ALL=C

bench_log() { printf 'bench: %s\n' "$*" >&2; }
bench_die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# psql against the private cluster, no psqlrc, stop at the first error.
bench_psql() { psql -X -v ON_ERROR_STOP=1 -P pager=off "$@"; }
# One value, unaligned, no headers.
bench_scalar() { bench_psql -qAt -c "$1"; }

bench_installed() {
  [ -f "$(pg_config --pkglibdir)/trajc.so" ] &&
    [ -f "$(pg_config --sharedir)/extension/trajc.control" ]
}

bench_install() {
  bench_log "building and installing trajc (make install)"
  make -C "$REPO" -s -j"$(nproc)" >&2 && make -C "$REPO" -s install >&2 ||
    bench_die "make install failed"
}

# Cluster running, PG* exported, extension installed and created.
bench_init() {
  local installed=0
  case $BENCH_INSTALL in
    always) bench_install; installed=1 ;;
    auto) bench_installed || { bench_install; installed=1; } ;;
    never) ;;
    *) bench_die "BENCH_INSTALL must be auto, always or never (got '$BENCH_INSTALL')" ;;
  esac
  # The cluster preloads trajc.so: a fresh build needs a restart to be used.
  if [ "$installed" = 1 ] && "$PGCLUSTER" status >/dev/null 2>&1; then
    "$PGCLUSTER" restart >&2 || bench_die "cluster restart failed"
  else
    "$PGCLUSTER" start >&2 || bench_die "cluster start failed"
  fi
  eval "$("$PGCLUSTER" env)"
  export PGHOST PGPORT PGUSER PGDATABASE
  if [ "$(bench_scalar "SELECT count(*) FROM pg_available_extensions WHERE name = 'trajc'")" = 1 ]; then
    bench_psql -q -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION IF NOT EXISTS trajc' >&2 ||
      bench_die "CREATE EXTENSION trajc failed"
  else
    bench_log "trajc is not installed in this server: only the baselines will be timed"
  fi
}

# Whether function NAME (e.g. trajc_extract) is callable in the database.
bench_have_function() {
  [ "$(bench_scalar "SELECT to_regproc('$1') IS NOT NULL")" = t ]
}

# Median of the numbers on stdin (one per line); mean of the middle two if even.
bench_median() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]
    else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_ratio A B -> A / B with 2 decimals.
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "nan" || b == "nan") print "nan"; else printf "%.2f\n", a / b }'; }

bench_header() {
  printf '%-26s %12s %20s %7s %8s  %s\n' name median_ms baseline_median_ms ratio target verdict
}

# bench_report NAME MEDIAN BASELINE_MEDIAN [TARGET]
bench_report() {
  local name=$1 med=$2 base=$3 target=${4:-} ratio verdict=""
  ratio=$(bench_ratio "$med" "$base")
  if [ -n "$target" ]; then
    if [ "$ratio" != nan ] && awk -v r="$ratio" -v t="$target" 'BEGIN { exit !(r <= t) }'; then
      verdict=ok
    else
      verdict="MISSED"; BENCH_MISSED=1
    fi
  fi
  printf '%-26s %12s %20s %7s %8s  %s\n' "$name" "$med" "$base" "$ratio" "${target:--}" "$verdict"
  if [ -n "${BENCH_RESULTS:-}" ]; then
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$name" "$med" "$base" "$ratio" "${target:-}" \
      >>"$BENCH_RESULTS"
  fi
}

# bench_time_runs SETUP_SQL SQL... : one psql session; after SETUP_SQL, runs
# the statements given in order (each argument one statement, results to
# /dev/null) and prints each one's milliseconds, one per line, in order.
bench_time_runs() {
  local setup=$1; shift
  local script sql n
  script=$(mktemp)
  {
    printf '%s\n' "$setup"
    printf '\\o /dev/null\n\\timing on\n'
    for sql in "$@"; do printf '%s\n' "${sql%;};"; done
  } >"$script"
  local out
  out=$(bench_psql -q -f "$script") || { rm -f "$script"; bench_die "a timed statement failed"; }
  rm -f "$script"
  printf '%s\n' "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
  n=$(printf '%s\n' "$out" | grep -c '^Time: ')
  [ "$n" -eq "$#" ] || bench_die "expected $# timings, got $n"
}

# bench_time_pair NAME SQL BASELINE_SQL [SETUP_SQL] [TARGET]
# One warm-up of each, then BENCH_RUNS runs of each, alternating; prints the
# report line and sets BENCH_MEDIAN / BENCH_BASE_MEDIAN / BENCH_RATIO.
bench_time_pair() {
  local name=$1 a=$2 b=$3 setup=${4:-} target=${5:-}
  local -a stmts=("$a" "$b") order=(a b)
  local i
  for ((i = 0; i < BENCH_RUNS; i++)); do
    if ((i % 2 == 0)); then stmts+=("$a" "$b"); order+=(a b)
    else stmts+=("$b" "$a"); order+=(b a); fi
  done
  local -a times
  mapfile -t times < <(bench_time_runs "$setup" "${stmts[@]}") || return 1
  [ "${#times[@]}" -eq "${#stmts[@]}" ] || bench_die "$name: timing failed"
  local ta="" tb=""
  for ((i = 2; i < ${#times[@]}; i++)); do
    if [ "${order[$i]}" = a ]; then ta+="${times[$i]}"$'\n'; else tb+="${times[$i]}"$'\n'; fi
  done
  BENCH_MEDIAN=$(printf '%s' "$ta" | bench_median)
  BENCH_BASE_MEDIAN=$(printf '%s' "$tb" | bench_median)
  BENCH_RATIO=$(bench_ratio "$BENCH_MEDIAN" "$BENCH_BASE_MEDIAN")
  if [ -n "${BENCH_VERBOSE:-}" ]; then
    bench_log "$name runs (ms): $(printf '%s' "$ta" | tr '\n' ' ')"
    bench_log "$name baseline runs (ms): $(printf '%s' "$tb" | tr '\n' ' ')"
  fi
  bench_report "$name" "$BENCH_MEDIAN" "$BENCH_BASE_MEDIAN" "$target"
}

# bench_time_one NAME SQL [SETUP_SQL]: a statement without a counterpart
# (e.g. while the function under test does not exist yet).
bench_time_one() {
  local name=$1 a=$2 setup=${3:-} i
  local -a stmts=("$a")
  for ((i = 0; i < BENCH_RUNS; i++)); do stmts+=("$a"); done
  local -a times
  mapfile -t times < <(bench_time_runs "$setup" "${stmts[@]}") || return 1
  BENCH_MEDIAN=$(printf '%s\n' "${times[@]:1}" | bench_median)
  printf '%-26s %12s %20s %7s %8s  %s\n' "$name" "$BENCH_MEDIAN" - - - "(no counterpart)"
}

# Exit status for the benchmark script.
bench_finish() {
  if [ "$BENCH_MISSED" = 1 ]; then
    bench_log "at least one ratio missed its target"
    [ "${BENCH_STRICT:-0}" = 1 ] && return 1
  fi
  return 0
}
