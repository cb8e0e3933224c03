#!/usr/bin/env bash
# Runs the system on embedded defaults: a virtual receipt printer, then the terminal agent
# on a seeded store printing its kitchen tickets and receipts through it. Everything lives
# under ./.thorbis-demo; run it again and the store grows. Ctrl-C stops the printer.
set -euo pipefail
cd "$(dirname "$0")/.."
data=.thorbis-demo
mkdir -p "$data/receipts"
cargo build --quiet -p thorbis-simulators -p thorbis-agent --bins

printer_port=${THORBIS_PRINTER_PORT:-9100}
target=${CARGO_TARGET_DIR:-target}
"$target/debug/thorbis-sim" --printer "127.0.0.1:$printer_port" --out "$data/receipts" &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
sleep 0.5

"$target/debug/thorbis-agent" demo --data "$data" --printer "127.0.0.1:$printer_port"
echo
echo "Receipts printed so far (text and PNG): $data/receipts"
ls "$data/receipts" | tail -n 6
echo
echo "The virtual printer keeps running; print more with:"
echo "  $target/debug/thorbis-agent demo --data $data --printer 127.0.0.1:$printer_port"
echo "Ctrl-C to stop."
wait $sim
