#!/usr/bin/env bash
# Builds the Debian packages: thorbis-agent and thorbis-hub (and, with --desktop, the
# desktop app's bundle through Tauri).
#
#   installer/build.sh [--version VERSION] [--out DIR] [--no-build] [--desktop]
#
# --version  the packages' version (default: the workspace's, from Cargo.toml)
# --out      where the .deb files go (default: target/debian under the cargo target dir)
# --no-build package the release binaries already built instead of running cargo
# --desktop  also bundle the desktop app (installs tauri-cli once, ~12 min; then ~5 min)
#
# Prints one line per package: `built <path>`. Needs dpkg-dev (dpkg-deb, dpkg-shlibdeps),
# which scripts/ensure-packages.sh installs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
version=""
out=""
build=1
desktop=0
while [ $# -gt 0 ]; do
    case "$1" in
        --version) version="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        --desktop) desktop=1; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "installer/build.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done

if [ -z "$version" ]; then
    version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n1)"
fi
case "$version" in
    [0-9]*) ;;
    *) echo "installer/build.sh: version $version must start with a digit" >&2; exit 2 ;;
esac
target="${CARGO_TARGET_DIR:-$root/target}"
out="${out:-$target/debian}"
mkdir -p "$out"
arch="$(dpkg --print-architecture)"

if [ "$build" = 1 ]; then
    (cd "$root" && cargo build --release --locked -p thorbis-hub -p thorbis-terminal --bins)
fi
for bin in thorbis-agent thorbis-hub; do
    if [ ! -x "$target/release/$bin" ]; then
        echo "installer/build.sh: $target/release/$bin is missing (build without --no-build)" >&2
        exit 1
    fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The shared-library dependencies of the binaries in a staged tree, as dpkg-shlibdeps
# computes them (it wants a debian/control naming the package).
shlib_depends() {
    local pkg="$1" stage="$2"
    local tmp="$work/shlibs-$pkg"
    mkdir -p "$tmp/debian"
    printf 'Source: thorbis-edge\n\nPackage: %s\nArchitecture: any\n' "$pkg" > "$tmp/debian/control"
    (cd "$tmp" && dpkg-shlibdeps -O -e"$stage/usr/bin/$pkg" 2>/dev/null) \
        | sed -n 's/^shlibs:Depends=//p'
}

# One line of the template per @KEY@, values from the environment of the call.
fill() {
    sed -e "s|@PKG@|$PKG|g" -e "s|@USER@|$USER_NAME|g" -e "s|@GROUPS@|$GROUPS_OF|g" \
        -e "s|@STATE@|$STATE|g" -e "s|@CONFFILE@|$CONFFILE|g" -e "s|@EXEC@|$EXEC|g" \
        -e "s|@DESCRIPTION@|$SUMMARY|g" -e "s|@VERSION@|$version|g" -e "s|@ARCH@|$arch|g" \
        "$1"
}

# Stages and builds one package. The caller sets PKG, USER_NAME, GROUPS_OF, STATE,
# CONFFILE, EXEC, SUMMARY, LONG (the description's body) and EXTRA_DEPENDS.
package() {
    local stage="$work/$PKG"
    local doc="$stage/usr/share/doc/$PKG"
    install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/etc/thorbis" "$doc" \
        "$stage/lib/systemd/system"
    install -m 0755 "$target/release/$PKG" "$stage/usr/bin/$PKG"
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/$PKG"
    # 0640 from the start: it may hold secrets (postinst gives its group to the service).
    install -m 0640 "$here/${PKG#thorbis-}/$CONFFILE" "$stage/etc/thorbis/$CONFFILE"
    install -m 0644 "$here/${PKG#thorbis-}/$PKG.service" "$stage/lib/systemd/system/$PKG.service"
    install -m 0644 "$here/debian/copyright" "$doc/copyright"
    install -m 0644 "$here/${PKG#thorbis-}/README" "$doc/README"
    install -d "$stage/usr/share/man/man1"
    gzip -9n < "$here/${PKG#thorbis-}/$PKG.1" > "$stage/usr/share/man/man1/$PKG.1.gz"
    chmod 0644 "$stage/usr/share/man/man1/$PKG.1.gz"
    printf '%s (%s) stable; urgency=medium\n\n  * Release %s.\n\n -- Thorbis Edge packaging <packages@thorbis.example>  %s\n' \
        "$PKG" "$version" "$version" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")" \
        | gzip -9n > "$doc/changelog.gz"
    if [ "$PKG" = thorbis-agent ]; then
        install -d "$stage/lib/udev/rules.d"
        install -m 0644 "$here/agent/60-thorbis.rules" "$stage/lib/udev/rules.d/60-thorbis.rules"
    fi
    for script in postinst prerm postrm; do
        fill "$here/debian/$script.in" > "$stage/DEBIAN/$script"
        chmod 0755 "$stage/DEBIAN/$script"
    done
    echo "/etc/thorbis/$CONFFILE" > "$stage/DEBIAN/conffiles"
    # The configuration is 0640 on purpose (see above); lintian would warn about it.
    install -d "$stage/usr/share/lintian/overrides"
    printf '# The configuration may hold secrets: root and the service user only.\n%s: non-standard-file-perm 0640 != 0644 [etc/thorbis/%s]\n' \
        "$PKG" "$CONFFILE" > "$stage/usr/share/lintian/overrides/$PKG"
    chmod 0644 "$stage/usr/share/lintian/overrides/$PKG"
    local depends size
    depends="$(shlib_depends "$PKG" "$stage"), adduser, $EXTRA_DEPENDS"
    size="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
    fill "$here/debian/control.in" | sed -e "s|@SIZE@|$size|" -e "s|@DEPENDS@|$depends|" \
        -e "s|@SUMMARY@|$SUMMARY|" > "$work/control"
    # The long description: each line indented by one space, as deb-control(5) wants.
    awk -v long="$LONG" '/^@LONG@$/ { n = split(long, l, "\n"); for (i = 1; i <= n; i++) print " " l[i]; next } { print }' \
        "$work/control" > "$stage/DEBIAN/control"
    local deb="$out/${PKG}_${version}_${arch}.deb"
    dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
    echo "built $deb"
}

PKG=thorbis-agent USER_NAME=thorbis GROUPS_OF="lp dialout input" STATE=/var/lib/thorbis \
    CONFFILE=agent.toml EXEC="/usr/bin/thorbis-agent run --config /etc/thorbis/agent.toml" \
    SUMMARY="Thorbis Edge terminal agent" EXTRA_DEPENDS="init-system-helpers (>= 1.54~)" \
    LONG="The agent of a Thorbis Edge point-of-sale or field-service terminal: the
store on disk (SQLite), sync with the hub and the store's other terminals,
receipt printers, cash drawer and barcode scanners, and the terminal UI on
loopback. It runs as the thorbis-agent service under the thorbis user." \
    package

PKG=thorbis-hub USER_NAME=thorbis-hub GROUPS_OF="" STATE=/var/lib/thorbis-hub \
    CONFFILE=hub.env \
    EXEC="sh -c 'set -a; . /etc/thorbis/hub.env; THORBIS_HUB_DATA_DIR=/var/lib/thorbis-hub exec /usr/bin/thorbis-hub'" \
    SUMMARY="Thorbis Edge hub and web console" \
    EXTRA_DEPENDS="init-system-helpers (>= 1.54~), postgresql-15" \
    LONG="The hub of Thorbis Edge: it collects every terminal's signed facts, serves
the web console for owners and managers, and keeps each tenant apart under
row-level security. By default it runs its own durable Postgres cluster in
/var/lib/thorbis-hub; /etc/thorbis/hub.env points it at an external one." \
    package

if [ "$desktop" = 1 ]; then
    tauri="$HOME/.cache/thorbis-edge/tauri-cli"
    if [ ! -x "$tauri/bin/cargo-tauri" ]; then
        cargo install tauri-cli --version '^2' --locked --root "$tauri"
    fi
    (cd "$root/desktop" && "$tauri/bin/cargo-tauri" build --bundles deb)
    for deb in "$target"/release/bundle/deb/*.deb; do
        # Tauri names the file after the product ("Thorbis Edge_..."); Debian's convention
        # is package_version_architecture.
        name="$(dpkg-deb -f "$deb" Package)_$(dpkg-deb -f "$deb" Version)_$(dpkg-deb -f "$deb" Architecture).deb"
        cp "$deb" "$out/$name"
        echo "built $out/$name"
    done
fi
