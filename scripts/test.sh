#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine of ours (Debian 12, Rust toolchain).
#
# It installs what the tests need and the machine lacks, then runs:
#   - every unit, integration, property and doc test (`cargo test --workspace`),
#     including the kill -9 crash test (THORBIS_CRASH_RUNS, default 200);
#   - every benchmark binary once in its quick smoke mode (`cargo test --benches`), so a
#     broken bench is caught without paying for a full measurement;
#   - the package test (`installer/test.sh`): the agent and hub .debs built, checked with
#     lintian, installed, run as their service users, upgraded and purged.
set -euo pipefail
cd "$(dirname "$0")/.."

# Share one target dir across clones so CI does not rebuild the world each time.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/thorbis-edge/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# No incremental state: a test run builds each crate once, and incremental caches of
# several checkouts would fill the disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

scripts/ensure-packages.sh test
# The hub's tests run on Citus (distributed Postgres) too: build and install the extension
# from the vendored source beside the checkout, once (it does nothing when installed).
citus_build=../shared/vendor/citus/build.sh
if [ -f "$citus_build" ]; then
    bash "$citus_build"
elif [ ! -e /usr/lib/postgresql/15/lib/citus.so ]; then
    echo "error: Citus is not installed and $citus_build (its vendored source) is missing" >&2
    exit 1
fi

# `--show-output` lets the RESULT lines of passing tests (tenant isolation, ...) reach the log.
cargo test --workspace --locked -- --show-output
cargo test --workspace --locked --benches
# The .deb packages: built, linted, installed, upgraded and purged (needs root).
installer/test.sh
