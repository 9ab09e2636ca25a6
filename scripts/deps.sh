#!/bin/sh
# deps.sh — installs the Debian packages nnd needs to build, test and run, if any is missing
# (chromium and node for the dashboard's browser tests; postgresql-15 for the tests on PostgreSQL,
# which start throwaway clusters of their own: the packaged service is not needed).
# Idempotent; needs root (or sudo) only when something is missing.
#   scripts/deps.sh            build + test dependencies
#   scripts/deps.sh --bench    also the benchmark peers (python3-torch, python3-pandas, wrk)
set -eu
pkgs="build-essential cmake pkg-config libopenblas-dev libjansson-dev libcsv-dev libsqlite3-dev
libmicrohttpd-dev libcurl4-openssl-dev libpq-dev postgresql-15 curl ca-certificates python3 wrk
chromium fonts-dejavu-core clang-tidy"
# libxsmm generates the small matrix kernels (lib/core/nn_matrix.c); nnd uses it on x86-64 only
[ "$(dpkg --print-architecture)" = amd64 ] && pkgs="$pkgs libxsmm-dev"
# The browser tests need node and npm; a node installed otherwise (newer than Debian's) will do.
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
[ "${1:-}" = "--bench" ] && pkgs="$pkgs python3 python3-torch python3-pandas wrk"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
