#!/usr/bin/env bash
# Runs every benchmark of the workspace at full size and rewrites the table in BENCHMARKS.md
# with what they printed: each `METRIC <name> <value>` line, the command that printed it,
# its goal and today's date.
#
#   scripts/bench.sh                 every bench below, one after the other
#   scripts/bench.sh screens lan     only the benches named (the rest of the table is kept)
#   scripts/bench.sh --table         no runs: the table again from the benches' last logs
#
# Benches run one at a time (they measure this machine; two at once would measure each
# other). The raw output of each goes to $CARGO_TARGET_DIR/bench-logs/<bench>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/thorbis-edge/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# package:bench, in the order they run.
benches=(
    thorbis-drivers:receipt_encode
    thorbis-domain:admit
    thorbis-domain:work_orders
    thorbis-agent:local_commit
    thorbis-agent:apply_events
    thorbis-terminal-ui:screens
    thorbis-terminal-ui:ui_tap_to_paint
    thorbis-terminal-ui:signin_flood
    thorbis-hub:ingest
    thorbis-hub:live_connections
    thorbis-hub:citus_ingest
    thorbis-hub:login_flood
    thorbis-hub:reports
    thorbis-tests:lan
    thorbis-tests:catchup
    thorbis-tests:work_orders
)

# metric|goal: the goals the issues set. A metric printed but not listed here is shown for
# reference, with no goal.
goals='
receipt_encode_us|≤ 20
admit_us_per_fact|≤ 10
workorder_change_apply_us|≤ 500
sale_commit_p99_ms|≤ 1.5
sale_vs_raw_p99_ratio|≤ 3.5
agent_apply_events_per_s|≥ 50000
screen_render_p95_ms|≤ 5
ui_tap_to_paint_ms_p95|≤ 50
signin_flood_tap_ratio|≤ 2
hub_ingest_events_per_s|≥ 20000
ingest_vs_copy_ratio|≥ 0.5
hub_live_connections|≥ 5000
hub_rss_mb_at_connections|≤ 1024
citus_vs_single_ratio|≥ 0.5
login_flood_push_ratio|≤ 2
report_sales_by_hour_p95_ms|≤ 200
report_by_item_p95_ms|≤ 200
console_home_p95_ms|≤ 100
lan_pos_to_kds_p50_ms|≤ 10
lan_pos_to_kds_p99_ms|≤ 50
catchup_5000_orders_s|≤ 2
'

table_only=false
if [ "${1:-}" = "--table" ]; then
    table_only=true
    shift
fi
selected=("$@")
wanted() {
    [ ${#selected[@]} -eq 0 ] && return 0
    local name
    for name in "${selected[@]}"; do [ "$name" = "$1" ] && return 0; done
    return 1
}

logs="$CARGO_TARGET_DIR/bench-logs"
mkdir -p "$logs"
fresh=$(mktemp)
table=$(mktemp)
trap 'rm -f "$fresh" "$table"' EXIT
$table_only || scripts/ensure-packages.sh test

for entry in "${benches[@]}"; do
    package=${entry%%:*}
    bench=${entry#*:}
    wanted "$bench" || continue
    command="cargo bench -p $package --bench $bench"
    log="$logs/$package-$bench.log"
    if ! $table_only; then
        echo "== $command" >&2
        # The bench's own output stays visible; its METRIC lines are kept for the table.
        $command --locked 2>&1 | tee "$log" >&2
    fi
    [ -f "$log" ] || continue
    day=$(date -u -r "$log" +%Y-%m-%d)
    awk -v cmd="$command" -v day="$day" \
        '$1 == "METRIC" && NF >= 3 { print $2 "|" $3 "|" cmd "|" day }' "$log" >>"$fresh"
done

# The table: today's figures over the previous ones, metric by metric, in bench order.
old_rows=$(sed -n '/^<!-- table:start -->$/,/^<!-- table:end -->$/p' BENCHMARKS.md |
    awk -F'|' 'NF >= 6 && $2 ~ /`/ {
        gsub(/^ +| +$/, "", $2); gsub(/^ +| +$/, "", $3); gsub(/^ +| +$/, "", $5); gsub(/^ +| +$/, "", $6)
        gsub(/`/, "", $2); gsub(/`/, "", $3)
        print $2 "|" $5 "|" $3 "|" $6 }')
{
    echo "| metric | command | goal | latest | date |"
    echo "| --- | --- | --- | --- | --- |"
    printf '%s\n%s\n' "$old_rows" "$(cat "$fresh")" | awk -F'|' -v goals="$goals" '
        BEGIN {
            n = split(goals, lines, "\n")
            for (i = 1; i <= n; i++) if (split(lines[i], g, "|") == 2) goal[g[1]] = g[2]
        }
        NF == 4 {
            if (!($1 in value)) order[++count] = $1
            value[$1] = $2; command[$1] = $3; day[$1] = $4
        }
        END {
            for (i = 1; i <= count; i++) {
                m = order[i]
                want = (m in goal) ? goal[m] : "(reference)"
                printf "| `%s` | `%s` | %s | %s | %s |\n", m, command[m], want, value[m], day[m]
            }
        }'
} >"$table"

awk -v table="$table" '
    /^<!-- table:start -->$/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
    /^<!-- table:end -->$/ { skip = 0 }
    !skip { print }
' BENCHMARKS.md >BENCHMARKS.md.new
mv BENCHMARKS.md.new BENCHMARKS.md
echo "BENCHMARKS.md updated ($(wc -l <"$fresh") figures)" >&2
