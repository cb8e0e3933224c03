#!/usr/bin/env bash
# Installs, with apt, whatever the project's commands need and this machine lacks.
# Usage: scripts/ensure-packages.sh test|demo
set -euo pipefail

need=()
command -v cc >/dev/null || need+=(build-essential)
command -v pkg-config >/dev/null || need+=(pkg-config)
# The hub runs on throwaway (tests) or local (demo) PostgreSQL 15 clusters.
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
if [ "${1:-}" = demo ]; then
    # The demo makes its tenant through the hub's admin API.
    command -v curl >/dev/null || need+=(curl)
    command -v jq >/dev/null || need+=(jq)
fi
if [ "${1:-}" = test ]; then
    # The printer simulator's barcode tests read its PNGs back with a standard decoder.
    command -v zbarimg >/dev/null || need+=(zbar-tools)
    # The terminal UI's browser tests drive headless Chromium.
    [ -x /usr/bin/chromium ] || need+=(chromium)
    # The desktop shell (Tauri 2 on webkit2gtk) builds in CI and is smoke-tested under Xvfb;
    # ImageMagick's `import` takes its screenshot.
    pkg-config --exists webkit2gtk-4.1 2>/dev/null || need+=(libwebkit2gtk-4.1-dev libgtk-3-dev)
    pkg-config --exists ayatana-appindicator3-0.1 2>/dev/null || need+=(libayatana-appindicator3-dev)
    pkg-config --exists librsvg-2.0 2>/dev/null || need+=(librsvg2-dev)
    [ -e /usr/include/xdo.h ] || need+=(libxdo-dev)
    command -v Xvfb >/dev/null || need+=(xvfb xauth)
    command -v import >/dev/null || need+=(imagemagick)
    # The console's accessibility audit injects axe-core (from npm) into Chromium.
    command -v npm >/dev/null || need+=(npm)
    # The field-service test renders the invoice PDF to PNG with poppler's pdftoppm.
    command -v pdftoppm >/dev/null || need+=(poppler-utils)
    # The package test builds .debs, checks them with lintian and talks to the installed
    # services (installer/test.sh).
    command -v dpkg-shlibdeps >/dev/null || need+=(dpkg-dev)
    command -v lintian >/dev/null || need+=(lintian)
    command -v systemd-analyze >/dev/null || need+=(systemd)
    command -v curl >/dev/null || need+=(curl)
    command -v jq >/dev/null || need+=(jq)
fi
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${need[@]}"
fi

if [ "${1:-}" = test ]; then
    # axe-core, pinned, in the shared cache the console's browser test reads it from.
    npm_dir="$HOME/.cache/thorbis-edge/npm"
    if [ ! -f "$npm_dir/node_modules/axe-core/axe.min.js" ]; then
        mkdir -p "$npm_dir"
        npm install --no-audit --no-fund --prefix "$npm_dir" axe-core@4.10.3
    fi
fi
