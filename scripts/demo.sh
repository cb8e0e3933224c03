#!/usr/bin/env bash
# Runs the system on embedded defaults: the hub (on a Postgres cluster of its own), a virtual
# receipt printer, then the terminal agent on a seeded store printing its kitchen tickets and
# receipts through it, which then serves the terminal UI (POS, kitchen display) on
# http://127.0.0.1:8090/. Everything lives under ./.thorbis-demo; run it again and the stores
# grow. Ctrl-C stops the UI, the hub and the printer.
set -euo pipefail
cd "$(dirname "$0")/.."
data=.thorbis-demo
mkdir -p "$data/receipts"
scripts/ensure-packages.sh demo
cargo build --quiet -p thorbis-simulators -p thorbis-agent -p thorbis-hub --bins

printer_port=${THORBIS_PRINTER_PORT:-9100}
hub_listen=${THORBIS_HUB_LISTEN:-127.0.0.1:8080}
ui_port=${THORBIS_UI_PORT:-8090}
target=${CARGO_TARGET_DIR:-target}

# The hub starts (or reopens) a durable Postgres cluster under $data/hub-postgres.
THORBIS_HUB_DATA_DIR="$PWD/$data/hub-postgres" THORBIS_HUB_LISTEN="$hub_listen" \
    "$target/debug/thorbis-hub" > "$data/hub.log" 2>&1 &
hub=$!
"$target/debug/thorbis-sim" --printer "127.0.0.1:$printer_port" --out "$data/receipts" &
sim=$!
trap 'kill $sim $hub 2>/dev/null || true; wait $hub 2>/dev/null || true' EXIT
healthy() { (exec 3<>"/dev/tcp/${hub_listen%:*}/${hub_listen##*:}" && printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3 && grep -q '^ok' <&3) 2>/dev/null; }
for _ in $(seq 1 150); do
    healthy && break
    sleep 0.2
done
if healthy; then echo "hub     http://$hub_listen  (healthy)"; else echo "hub     not up yet: see $data/hub.log"; fi

echo "Receipts and kitchen tickets print to the virtual printer: $data/receipts (text and PNG)."
echo "The hub's API: http://$hub_listen/api/openapi.json (the agent's sync client lands next)."
echo
# The agent rings up the demo sales, prints, then serves the terminal UI until Ctrl-C.
"$target/debug/thorbis-agent" demo --data "$data" --printer "127.0.0.1:$printer_port" --ui-port "$ui_port"
