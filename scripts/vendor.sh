#!/usr/bin/env bash
# Builds a released third-party extension from ../shared/vendor (unchanged
# sources, see its README) and installs it into the PostgreSQL that
# `pg_config` names. Used by tests that need the real peer (Supabase Vault,
# supautils). Never copies their code into this repository.
#
#   scripts/vendor.sh install supabase-vault-0.3.1 supautils-3.4.0
#
# Builds are cached under $TRAJC_CACHE_DIR (default /var/cache/trajc when
# writable, else ~/.cache/trajc), keyed by the tarball's checksum and the
# server's version, so a second run only copies files (about a second).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
VENDOR=${TRAJC_VENDOR_DIR:-$REPO/../shared/vendor}
[ -d "$VENDOR" ] || VENDOR=/work/shared/vendor
if [ -z "${TRAJC_CACHE_DIR:-}" ]; then
  if mkdir -p /var/cache/trajc 2>/dev/null && [ -w /var/cache/trajc ]; then
    TRAJC_CACHE_DIR=/var/cache/trajc
  else
    TRAJC_CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/trajc
  fi
fi
JOBS=${JOBS:-2}

# Builds <name> once per (tarball, server version); prints the build directory.
build() {
  local name=$1 tarball=$VENDOR/$1.tar.gz
  [ -r "$tarball" ] || { echo "vendor.sh: $tarball not found (set TRAJC_VENDOR_DIR)" >&2; return 1; }
  local key
  key=$(cat "$tarball" <(pg_config --version) | sha256sum | cut -c1-16)
  local dir=$TRAJC_CACHE_DIR/vendor/$name-$key
  if [ ! -e "$dir/.built" ]; then
    echo "vendor.sh: building $name (cached in $dir)" >&2
    rm -rf "$dir" && mkdir -p "$dir"
    tar xzf "$tarball" -C "$dir" --strip-components=1
    # `all`, not the default goal: supautils' default goal moves its module
    # into $(BUILD_DIR), which is unset outside its own CI.
    make -C "$dir" -s -j"$JOBS" USE_PGXS=1 all >"$dir/build.log" 2>&1 \
      || { tail -n 30 "$dir/build.log" >&2; return 1; }
    touch "$dir/.built"
  fi
  echo "$dir"
}

cmd_install() {
  local name dir
  for name in "$@"; do
    dir=$(build "$name")
    # `make install` from the built tree only copies (nothing is out of date).
    make -C "$dir" -s USE_PGXS=1 install >>"$dir/build.log" 2>&1 \
      || { tail -n 30 "$dir/build.log" >&2; return 1; }
  done
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  *) echo "usage: $0 install NAME..." >&2; exit 2 ;;
esac
