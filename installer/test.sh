#!/usr/bin/env bash
# The package test (part of scripts/test.sh). It builds thorbis-agent and thorbis-hub
# packages at two versions, checks them with lintian and by their contents, installs the
# first, validates the units with systemd-analyze, runs each service's binary as its
# service user the way its unit starts it and asks it for its health, puts data in the
# stores, upgrades to the second version, checks the data survived and the services come
# back healthy, then purges both. Prints
#   RESULT packages built=<n> lintian_errors=<n> installed=<bool> upgraded=<bool>
# It installs packages on this machine, so it needs root, and it refuses to run where
# thorbis-agent or thorbis-hub is installed already (it would remove them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
pkgs=(thorbis-agent thorbis-hub)

if [ "$(id -u)" != 0 ]; then
    echo "RESULT packages skipped=needs-root (the package test installs packages: run it as root)"
    exit 0
fi
# The test removes what it installs and makes: it must find none of it here already (a
# package removed but not purged, a kept data folder, a service user), or it would take
# someone's store with it.
for pkg in "${pkgs[@]}"; do
    if dpkg-query -W "$pkg" >/dev/null 2>&1; then
        echo "installer/test.sh: dpkg knows $pkg on this machine; the test would purge it." >&2
        echo "  Purge it first (dpkg --purge $pkg) or run the test elsewhere." >&2
        exit 1
    fi
done
for left in /var/lib/thorbis /var/lib/thorbis-hub /etc/thorbis; do
    if [ -e "$left" ]; then
        echo "installer/test.sh: $left exists (a store kept by an earlier install?); the test would remove it." >&2
        exit 1
    fi
done
for user in thorbis thorbis-hub; do
    if getent passwd "$user" >/dev/null || getent group "$user" >/dev/null; then
        echo "installer/test.sh: the user or group $user exists; the test would delete it." >&2
        exit 1
    fi
done
command -v lintian >/dev/null || { echo "installer/test.sh: lintian is missing (scripts/ensure-packages.sh test installs it)" >&2; exit 1; }

# World-traversable, so the service users reach the scratch configurations in it.
work="$(mktemp -d /tmp/thorbis-packages.XXXXXX)"
chmod 0755 "$work"
children=()
cleanup() {
    local status=$?
    for pid in "${children[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    # The hub's cluster, if the hub died without stopping it.
    if [ -f /var/lib/thorbis-hub/data/postmaster.pid ]; then
        runuser -u thorbis-hub -- /usr/lib/postgresql/15/bin/pg_ctl -D /var/lib/thorbis-hub/data \
            -m immediate stop >/dev/null 2>&1 || true
    fi
    for pkg in "${pkgs[@]}"; do dpkg --purge "$pkg" >/dev/null 2>&1 || true; done
    rm -rf /var/lib/thorbis /var/lib/thorbis-hub /etc/thorbis "$work"
    for user in thorbis thorbis-hub; do
        if getent passwd "$user" >/dev/null; then deluser --quiet --system "$user" 2>/dev/null || true; fi
        if getent group "$user" >/dev/null; then delgroup --quiet --system "$user" || true; fi
    done
    exit "$status"
}
trap cleanup EXIT

fail() {
    echo "installer/test.sh: FAILED: $*" >&2
    exit 1
}

base="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n1)"
v1="$base+pkgtest1"
v2="$base+pkgtest2"
"$here/build.sh" --version "$v1" --out "$work/v1"
"$here/build.sh" --no-build --version "$v2" --out "$work/v2"
debs1=("$work"/v1/*.deb)
debs2=("$work"/v2/*.deb)
built=$(( ${#debs1[@]} ))
[ "$built" = 2 ] || fail "expected 2 packages, built $built"

# lintian: no errors (warnings are printed for the record).
lintian_errors=0
for deb in "${debs1[@]}"; do
    status=0
    report="$(lintian --fail-on error --tag-display-limit 0 "$deb" 2>&1)" || status=$?
    [ -z "$report" ] || printf '%s\n' "$report"
    errors=$(printf '%s\n' "$report" | grep -c '^E:' || true)
    # lintian fails with errors to report, or when it could not check the package at all.
    [ "$status" = 0 ] || [ "$errors" -gt 0 ] || fail "lintian could not check $(basename "$deb")"
    lintian_errors=$(( lintian_errors + errors ))
done

# Contents: what each package must hold, and its metadata.
expect_files() {
    local deb="$1"; shift
    local listing
    listing="$(dpkg-deb -c "$deb" | awk '{ print $6 }')"
    for path in "$@"; do
        printf '%s\n' "$listing" | grep -qx "\.$path" || fail "$(basename "$deb") lacks $path"
    done
}
agent1="$work/v1/$(cd "$work/v1" && ls thorbis-agent_*.deb)"
hub1="$work/v1/$(cd "$work/v1" && ls thorbis-hub_*.deb)"
expect_files "$agent1" /usr/bin/thorbis-agent /etc/thorbis/agent.toml \
    /lib/systemd/system/thorbis-agent.service /lib/udev/rules.d/60-thorbis.rules \
    /usr/share/doc/thorbis-agent/copyright /usr/share/doc/thorbis-agent/changelog.gz
expect_files "$hub1" /usr/bin/thorbis-hub /etc/thorbis/hub.env \
    /lib/systemd/system/thorbis-hub.service /usr/share/doc/thorbis-hub/copyright
dpkg-deb -f "$agent1" Depends | grep -q 'libc6' || fail "thorbis-agent does not depend on libc6"
dpkg-deb -f "$hub1" Depends | grep -q 'postgresql-15' || fail "thorbis-hub does not depend on postgresql-15"
[ "$(dpkg-deb -I "$agent1" conffiles)" = /etc/thorbis/agent.toml ] || fail "agent conffiles"

# Install the first version.
dpkg -i "${debs1[@]}"
for pkg in "${pkgs[@]}"; do
    [ "$(dpkg-query -W -f '${Status} ${Version}' "$pkg")" = "install ok installed $v1" ] \
        || fail "$pkg $v1 is not installed"
done
for group in lp dialout input; do
    id -nG thorbis | tr ' ' '\n' | grep -qx "$group" || fail "thorbis is not in $group"
done
for dir in /var/lib/thorbis:thorbis /var/lib/thorbis-hub:thorbis-hub; do
    [ "$(stat -c '%a %U' "${dir%%:*}")" = "700 ${dir##*:}" ] || fail "${dir%%:*} is not 0700 ${dir##*:}"
done
[ "$(stat -c '%a %U:%G' /etc/thorbis/hub.env)" = "640 root:thorbis-hub" ] || fail "hub.env is readable by others"

# Under systemd, the postinst started the services: stop them, so the runs below have the
# stores to themselves.
quiet_services() {
    if [ -d /run/systemd/system ]; then
        systemctl stop "${pkgs[@]/%/.service}" || true
    fi
}
quiet_services

# The units, as systemd reads them (the executables they name are installed now).
systemd_note=""
[ "$(ps -p 1 -o comm=)" = systemd ] || systemd_note=" (no systemd as PID 1 here: each service was started the way its unit starts it)"
for pkg in "${pkgs[@]}"; do
    systemd-analyze verify "/lib/systemd/system/$pkg.service" || fail "systemd-analyze verify $pkg.service"
done

# A unit's ExecStart= line.
exec_start() { sed -n 's/^ExecStart=//p' "/lib/systemd/system/$1.service"; }

# Starts `command` as `user` the way systemd's User= does (that user's groups, its HOME,
# a clean environment, cwd /), in the background, logging to `log`. Waits (bounded) for a
# line matching `pattern`; sets PID and URL (the match, without a trailing slash).
start_as() {
    local user="$1" log="$2" pattern="$3"; shift 3
    local home
    home="$(getent passwd "$user" | cut -d: -f6)"
    (cd / && exec setpriv --reuid "$user" --regid "$user" --init-groups -- \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME="$home" USER="$user" LOGNAME="$user" "$@") >"$log" 2>&1 &
    PID=$!
    children+=("$PID")
    URL=""
    for _ in $(seq 1 1200); do
        URL="$(grep -o "$pattern" "$log" | head -n1 || true)"
        [ -n "$URL" ] && break
        kill -0 "$PID" 2>/dev/null || { cat "$log" >&2; fail "$* exited before serving"; }
        sleep 0.1
    done
    [ -n "$URL" ] || { cat "$log" >&2; fail "$* did not serve within two minutes"; }
    URL="${URL%/}"
}

# Stops a service's process as systemd would (SIGTERM) and waits for a clean exit.
stop() {
    local pid="$1"
    kill -TERM "$pid"
    wait "$pid" || fail "process $pid exited with $? on SIGTERM"
    # Reaped: its number may be reused, so cleanup must not signal it.
    local kept=() other
    for other in "${children[@]}"; do [ "$other" = "$pid" ] || kept+=("$other"); done
    children=("${kept[@]}")
}

healthy() {
    [ "$(curl -sS --max-time 10 "$1/healthz")" = ok ] || fail "$1/healthz did not answer ok"
}

# The agent, against a scratch configuration: the packaged one on a free UI port.
agent_conf="$work/agent.toml"
sed 's/^ui_port = .*/ui_port = 0/' /etc/thorbis/agent.toml > "$agent_conf"
chmod 0644 "$agent_conf"
agent_cmd="$(exec_start thorbis-agent)"
agent_cmd="${agent_cmd//\/etc\/thorbis\/agent.toml/$agent_conf}"
# shellcheck disable=SC2086 # the unit's command line, split as systemd splits it
run_agent() { start_as thorbis "$work/agent-$1.log" 'http://127\.0\.0\.1:[0-9]*/' $agent_cmd; }
# A day's sales in the store (offline: a terminal not enrolled rings the demo catalog).
runuser -u thorbis -- /usr/bin/thorbis-agent demo --config "$agent_conf" --no-ui > "$work/agent-demo.log"
agent_before="$(runuser -u thorbis -- /usr/bin/thorbis-agent status --config "$agent_conf" --no-ui | grep -E '^  (device|events) ')"
run_agent 1
healthy "$URL"
stop "$PID"

# The hub, with its own cluster in /var/lib/thorbis-hub, on a free port.
token="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
hub_env="$work/hub.env"
{ grep -v '^#' /etc/thorbis/hub.env | grep -v '^THORBIS_HUB_LISTEN=' | grep . || true
  echo "THORBIS_HUB_LISTEN=127.0.0.1:0"
  echo "THORBIS_HUB_ADMIN_TOKEN=$token"
  sed -n 's/^Environment=//p' /lib/systemd/system/thorbis-hub.service; } > "$hub_env"
chgrp thorbis-hub "$hub_env"
chmod 0640 "$hub_env"
hub_cmd="$(exec_start thorbis-hub)"
# shellcheck disable=SC2046,SC2086 # the environment file's assignments, then the command
run_hub() { start_as thorbis-hub "$work/hub-$1.log" 'http://127\.0\.0\.1:[0-9]*' $(cat "$hub_env") $hub_cmd; }
admin() {
    curl -sS --fail-with-body --max-time 30 -H "Authorization: Bearer $token" \
        -H 'content-type: application/json' -d "$2" "$URL$1"
}
run_hub 1
healthy "$URL"
tenant="$(admin /api/v1/admin/tenants '{"name": "Package test"}' | jq -r .tenant_id)"
admin "/api/v1/admin/tenants/$tenant/locations" '{"name": "Before the upgrade"}' > /dev/null
stop "$PID"
installed=true

# An operator's change to a configuration file, which the upgrade must keep.
echo "# changed by the operator" >> /etc/thorbis/agent.toml

# Upgrade.
dpkg -i "${debs2[@]}"
quiet_services
for pkg in "${pkgs[@]}"; do
    [ "$(dpkg-query -W -f '${Version}' "$pkg")" = "$v2" ] || fail "$pkg was not upgraded to $v2"
done
tail -n1 /etc/thorbis/agent.toml | grep -qx '# changed by the operator' || fail "the upgrade lost the operator's agent.toml"
agent_after="$(runuser -u thorbis -- /usr/bin/thorbis-agent status --config "$agent_conf" --no-ui | grep -E '^  (device|events) ')"
[ "$agent_after" = "$agent_before" ] || fail "the agent's store changed across the upgrade: $agent_before -> $agent_after"
echo "the agent's store after the upgrade, as before it:"
printf '%s\n' "$agent_after"
run_agent 2
healthy "$URL"
stop "$PID"
run_hub 2
healthy "$URL"
# The tenant is still there, and its signing key (sealed by the key beside the cluster)
# still opens: publishing its catalog signs with it.
admin "/api/v1/admin/tenants/$tenant/locations" '{"name": "After the upgrade"}' > /dev/null
/usr/bin/thorbis-agent demo-catalog > "$work/catalog.json"
admin "/api/v1/admin/tenants/$tenant/reference-events" "@$work/catalog.json" > /dev/null
stop "$PID"
upgraded=true

# Purge: programs, units and configuration go; the data folders stay (documented).
dpkg --purge "${pkgs[@]}"
for path in /usr/bin/thorbis-agent /usr/bin/thorbis-hub /etc/thorbis/agent.toml /etc/thorbis/hub.env \
    /lib/systemd/system/thorbis-agent.service /lib/udev/rules.d/60-thorbis.rules; do
    [ ! -e "$path" ] || fail "$path is left after purge"
done
[ -d /var/lib/thorbis ] || fail "purge removed the agent's data folder"

echo "RESULT packages built=$built lintian_errors=$lintian_errors installed=$installed upgraded=$upgraded$systemd_note"
[ "$lintian_errors" = 0 ] || fail "lintian found $lintian_errors errors"
