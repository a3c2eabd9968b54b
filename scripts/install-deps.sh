#!/usr/bin/env bash
# Installs every Debian 12 package that building and testing Keepsake needs.
# Idempotent: packages already present are skipped, so a second run costs one dpkg query.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config
  # libraries (see CMakeLists.txt)
  libsodium-dev libzstd-dev libarchive-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev libtomlplusplus-dev libsqlite3-dev libssl-dev libgtest-dev libgmock-dev
  libcpp-httplib-dev libboost1.81-dev libhowardhinnant-date-dev tzdata libnfs-dev libblkid-dev
  libutf8proc-dev libzxcvbn-dev
  # tests and benchmarks: reference tools and the state generator; python3-jsonschema checks
  # the API's answers against docs/openapi.yaml (tests/integration/test_openapi.py)
  python3 python3-yaml python3-jsonschema sqlite3 zstd tar age time restic wrk curl
  # tools/verify_backup.py: the independent verifier written from docs/FORMAT.md alone
  python3-nacl python3-zstandard
  # make format / make format-check (the .clang-format style; Debian 12's is version 14)
  clang-format
  # the internal PostgreSQL database: pg_dump/pg_restore, and the server the tests start
  postgresql
  # storage tests: an NFSv4 server (userspace), libnfs's tools, USB-like disk images (GPT,
  # MBR, ext4, exFAT, vfat) and the exFAT FUSE driver for kernels without exFAT
  nfs-ganesha nfs-ganesha-vfs libnfs-utils gdisk fdisk e2fsprogs exfatprogs exfat-fuse dosfstools
  # the Webconf's end-to-end tests: Debian's Chromium driven by Playwright (npm, package-lock.json)
  chromium
)

# Node.js with npm (for Playwright): the machine's own when it has one (a nodesource build
# includes npm and conflicts with Debian's npm package), else Debian's.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
