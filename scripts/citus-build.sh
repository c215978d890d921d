#!/usr/bin/env bash
# Builds Citus 13.2.2 from the vendored release (../shared/vendor: tarball +
# the small patch for Debian's current PG 15 headers) and installs it into the
# PostgreSQL that `pg_config` names. The build takes ~5 minutes on 2 cores, so
# the installed files are cached per machine, keyed by tarball, patch, server
# version and this recipe; a cached run only copies files (about a second).
# Never copies Citus code into this repository, never touches a running server.
#
#   scripts/citus-build.sh          # build if needed, then install
#   scripts/citus-build.sh path     # print the cache directory (no build)
#
# TRAJC_VENDOR_DIR (default ../shared/vendor) and TRAJC_CACHE_DIR (default
# /var/cache/trajc when writable, else ~/.cache/trajc) choose where.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
VERSION=13.2.2
VENDOR=${TRAJC_VENDOR_DIR:-$REPO/../shared/vendor}
[ -d "$VENDOR" ] || VENDOR=/work/shared/vendor
TARBALL=$VENDOR/citus-$VERSION.tar.gz
PATCH=$VENDOR/citus-$VERSION-pg15-minor.patch
if [ -z "${TRAJC_CACHE_DIR:-}" ]; then
  if mkdir -p /var/cache/trajc 2>/dev/null && [ -w /var/cache/trajc ]; then
    TRAJC_CACHE_DIR=/var/cache/trajc
  else
    TRAJC_CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/trajc
  fi
fi
JOBS=${JOBS:-2}
# Bump when the recipe below changes, so an old cache is not reused.
RECIPE=1

for f in "$TARBALL" "$PATCH"; do
  [ -r "$f" ] || { echo "citus-build: $f not found (set TRAJC_VENDOR_DIR)" >&2; exit 1; }
done
KEY=$(cat "$TARBALL" "$PATCH" <(pg_config --version) <(echo "recipe $RECIPE") \
  | sha256sum | cut -c1-16)
CACHE=$TRAJC_CACHE_DIR/citus-$VERSION-$KEY

# The staged install is kept relative to the server's directories (lib/,
# share/), so one cache serves every copy of the same server version (a
# helper's private copy as well as the system's).
build() {
  local src=$CACHE/src stage=$CACHE/stage
  echo "citus-build: building Citus $VERSION (about 5 minutes; cached in $CACHE)" >&2
  rm -rf "$src" "$stage" "$CACHE/files" && mkdir -p "$src"
  tar xzf "$TARBALL" -C "$src" --strip-components=1
  (cd "$src" && patch -s -p1 <"$PATCH")
  (
    cd "$src"
    # nice: the machine's cores are shared with other builds and tests.
    nice -n 10 ./configure --without-libcurl >"$CACHE/build.log" 2>&1
    nice -n 10 make -s -j"$JOBS" with_llvm=no >>"$CACHE/build.log" 2>&1
    make -s with_llvm=no install DESTDIR="$stage" >>"$CACHE/build.log" 2>&1
  ) || { tail -n 40 "$CACHE/build.log" >&2; exit 1; }
  mkdir -p "$CACHE/files/lib" "$CACHE/files/share"
  cp -a "$stage$(pg_config --pkglibdir)/." "$CACHE/files/lib/"
  cp -a "$stage$(pg_config --sharedir)/." "$CACHE/files/share/"
  rm -rf "$src" "$stage"
  touch "$CACHE/.built"
}

install_cached() {
  cp -a "$CACHE/files/lib/." "$(pg_config --pkglibdir)/"
  cp -a "$CACHE/files/share/." "$(pg_config --sharedir)/"
  echo "citus-build: Citus $VERSION installed into $(pg_config --pkglibdir)" >&2
}

case "${1:-install}" in
  path) echo "$CACHE" ;;
  install)
    mkdir -p "$CACHE"
    # One build at a time per cache entry; a waiting run then just installs.
    exec 9>"$CACHE.lock"
    flock 9
    [ -e "$CACHE/.built" ] || build
    install_cached
    ;;
  *) echo "usage: $0 [install|path]" >&2; exit 2 ;;
esac
