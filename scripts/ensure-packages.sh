#!/usr/bin/env bash
# Installs, with apt, whatever the project's commands need and this machine lacks.
# Usage: scripts/ensure-packages.sh test|demo
set -euo pipefail

need=()
command -v cc >/dev/null || need+=(build-essential)
command -v pkg-config >/dev/null || need+=(pkg-config)
# The hub runs on throwaway (tests) or local (demo) PostgreSQL 15 clusters.
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
if [ "${1:-}" = test ]; then
    # The printer simulator's barcode tests read its PNGs back with a standard decoder.
    command -v zbarimg >/dev/null || need+=(zbar-tools)
    # The terminal UI's browser tests drive headless Chromium.
    [ -x /usr/bin/chromium ] || need+=(chromium)
fi
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${need[@]}"
fi
