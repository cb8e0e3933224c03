#!/usr/bin/env bash
# Runs the system on embedded defaults: the hub (on a Postgres cluster of its own), a virtual
# receipt printer, then the terminal agent: enrolled with the hub on the first run (a demo
# tenant, store and one-time code made through the hub's admin API), it rings up the demo
# sales on a seeded store, prints its kitchen tickets and receipts, then syncs with the hub
# and serves the terminal UI (POS, kitchen display) on http://127.0.0.1:8090/. Everything
# lives under ./.thorbis-demo; run it again and the stores grow. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
data=.thorbis-demo
# The agent keeps its private key in this folder and refuses one that others can read.
(umask 077 && mkdir -p "$data/receipts")
chmod 700 "$data"
scripts/ensure-packages.sh demo
# The first build takes several minutes: cargo shows its progress.
echo "building the hub, the agent and the simulators..."
cargo build -p thorbis-simulators -p thorbis-terminal -p thorbis-hub --bins

printer_port=${THORBIS_PRINTER_PORT:-9100}
hub_listen=${THORBIS_HUB_LISTEN:-127.0.0.1:8080}
ui_port=${THORBIS_UI_PORT:-8090}
target=${CARGO_TARGET_DIR:-target}

# The hub starts (or reopens) a durable Postgres cluster under $data/hub-postgres.
# The admin token lives in the demo folder only: it creates the demo tenant.
[ -s "$data/admin-token" ] || (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$data/admin-token")
admin_token=$(cat "$data/admin-token")
THORBIS_HUB_DATA_DIR="$PWD/$data/hub-postgres" THORBIS_HUB_LISTEN="$hub_listen" \
    THORBIS_HUB_ADMIN_TOKEN="$admin_token" \
    "$target/debug/thorbis-hub" > "$data/hub.log" 2>&1 &
hub=$!
"$target/debug/thorbis-sim" --printer "127.0.0.1:$printer_port" --out "$data/receipts" &
sim=$!
trap 'kill $sim $hub 2>/dev/null || true; wait $hub 2>/dev/null || true' EXIT
healthy() { (exec 3<>"/dev/tcp/${hub_listen%:*}/${hub_listen##*:}" && printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3 && grep -q '^ok' <&3) 2>/dev/null; }
# The first start makes the hub's database cluster; give it a minute, and stop at once if the
# hub exits.
for _ in $(seq 1 300); do
    healthy && break
    if ! kill -0 "$hub" 2>/dev/null; then
        echo "error: the hub exited before it was ready; the end of $data/hub.log:" >&2
        tail -n 20 "$data/hub.log" >&2
        exit 1
    fi
    sleep 0.2
done
if ! healthy; then
    echo "error: the hub did not answer on http://$hub_listen within a minute; see $data/hub.log" >&2
    exit 1
fi
echo "hub     http://$hub_listen  (healthy)"

hub_url="http://$hub_listen"
admin() {
    curl -sSf -H "Authorization: Bearer $admin_token" -H 'content-type: application/json' -d "$2" "$hub_url$1" ||
        { echo "error: the hub's admin API refused $1; see $data/hub.log" >&2; return 1; }
}
# First run: a demo tenant with one store, and this terminal enrolled with a one-time code.
if [ ! -s "$data/tenant" ]; then
    tenant=$(admin /api/v1/admin/tenants '{"name": "Demo Bistro"}' | jq -r .tenant_id)
    # Its time zone and currency (the demo menu's prices are in US dollars): the console's
    # reports count days in that zone, and its catalog can be edited at once.
    location=$(admin "/api/v1/admin/tenants/$tenant/locations" \
        '{"name": "Main street", "time_zone": "America/New_York", "currency": "USD"}' |
        jq -r .location_id)
    # The menu, prices, taxes and staff are the hub's to publish (the menu on the tenant's
    # reference log, the staff on each location's staff log, which that location's
    # terminals pull); a terminal never seeds them itself.
    "$target/debug/thorbis-agent" demo-catalog > "$data/catalog.json"
    admin "/api/v1/admin/tenants/$tenant/reference-events" "@$data/catalog.json" > /dev/null
    # The owner's account on the hub's web console.
    admin "/api/v1/admin/tenants/$tenant/console-users" \
        '{"email": "owner@demo.example", "password": "demo owner password", "role": "owner"}' > /dev/null
    code=$(admin "/api/v1/admin/tenants/$tenant/enrollment-codes" \
        "{\"location_id\": \"$location\", \"role\": \"pos\"}" | jq -r .code)
    if [ -e "$data/agent.db" ]; then
        echo "agent   $data/agent.db has history from an earlier demo; it stays unenrolled"
    else
        "$target/debug/thorbis-agent" enroll --data "$data" --hub "$hub_url" --code "$code"
    fi
    echo "$tenant" > "$data/tenant"
fi

echo "Receipts and kitchen tickets print to the virtual printer: $data/receipts (text and PNG)."
echo "The hub's API: $hub_url/api/openapi.json"
echo "The web console: $hub_url/console/signin?business=$(cat "$data/tenant")"
echo "  sign in as owner@demo.example, password: demo owner password"
echo
# Read the whole status first: `grep -q` stops reading at its match, which would make the
# agent's write fail and, with pipefail, the test with it.
status=$("$target/debug/thorbis-agent" status --data "$data" 2>/dev/null || true)
if ! grep -q '^  hub     http' <<<"$status"; then
    echo "agent   not enrolled: it runs on its own, with a catalog of its own"
fi
# An enrolled agent pulls its catalog from the hub, rings up the demo sales and prints
# them, syncs them, and serves the terminal UI until Ctrl-C.
"$target/debug/thorbis-agent" demo --data "$data" --printer "127.0.0.1:$printer_port" \
    --ui-port "$ui_port"
