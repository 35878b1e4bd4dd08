#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine with Python 3.11 (PostgreSQL,
# Chromium and Java from apt, Python packages into .venv, npm assets), then run the linters and the suite.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
apt_packages=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_packages+=(postgresql)
command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
fc-list 2>/dev/null | grep -qi "noto sans cjk" || apt_packages+=(fonts-noto-cjk)
command -v npm >/dev/null 2>&1 || apt_packages+=(nodejs npm)
command -v java >/dev/null 2>&1 || apt_packages+=(default-jre-headless)  # Spark, local mode
if [ "${#apt_packages[@]}" -gt 0 ]; then
  echo "installing from apt: ${apt_packages[*]}"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${apt_packages[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
npm ci --no-audit --no-fund --loglevel=error

.venv/bin/ruff check src tests bench migrations
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/pytest -n 2 -q "$@"
