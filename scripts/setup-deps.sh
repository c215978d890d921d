#!/usr/bin/env bash
# Installs every build and test dependency from Debian 12. Idempotent; run as root.
set -euo pipefail
PKGS=(
  build-essential g++ cmake make pkg-config git ca-certificates
  postgresql-15 postgresql-client-15 postgresql-server-dev-15
  postgresql-15-pgtap pgtap postgresql-15-cron
  libcurl4-openssl-dev nlohmann-json3-dev libgtest-dev
  libpq-dev libsqlite3-dev sqlite3 python3 perl
  chromium fonts-dejavu-core
  libsodium-dev
  clang libclang-rt-14-dev  # ASan/UBSan and libFuzzer (scripts/test.sh parts asan, fuzz)
  liblz4-dev libzstd-dev libkrb5-dev  # Citus, built from ../shared/vendor (scripts/citus-build.sh)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-deps: missing packages (${missing[*]}); run as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian's postgresql-common would otherwise create and start a system cluster.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/trajc-no-main.conf
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
