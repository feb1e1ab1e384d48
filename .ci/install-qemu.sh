#!/usr/bin/env bash
# Install the three QEMU releases the real-QEMU driver (@migwire/qemu) finds:
#   - QEMU 10.0 from bookworm-backports, installed system-wide (/usr/bin/qemu-system-x86_64);
#   - QEMU 7.2 from bookworm, NOT installed: its debs are unpacked with `dpkg -x` into
#     /var/cache/migwire/qemu-7.2 (run it with QEMU_MODULE_DIR and -L);
#   - QEMU 11.1 from trixie-backports, installed inside a debootstrapped trixie root at
#     /var/cache/migwire/qemu-11.1 (its binary needs trixie's glibc: run it through the root's
#     loader with --library-path, -L and QEMU_MODULE_DIR; no chroot at run time).
# MIGWIRE_QEMU72_DIR and MIGWIRE_QEMU111_DIR override the two cache folders.
#
# Idempotent (re-running changes nothing once all are present) and quiet on success: the only
# output is the three version lines at the end. On failure the log of the failing step is printed.
# Must run as root on Debian 12 (bookworm).
set -euo pipefail

CACHE_72="${MIGWIRE_QEMU72_DIR:-/var/cache/migwire/qemu-7.2}"
CACHE_111="${MIGWIRE_QEMU111_DIR:-/var/cache/migwire/qemu-11.1}"
SOURCES=/etc/apt/sources.list.d/debian.sources
LOG="$(mktemp /tmp/install-qemu.XXXXXX.log)"
WORK=""
cleanup() {
  local rc=$?
  [[ -n "$WORK" && -d "$WORK" ]] && rm -rf "$WORK"
  if [[ $rc -ne 0 ]]; then
    echo "install-qemu.sh: failed (exit $rc); log follows:" >&2
    cat "$LOG" >&2 || true
  fi
  rm -f "$LOG"
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
# Another apt run on the machine (unattended upgrades, a parallel job) holds the dpkg lock: wait.
APT_WAIT=(-o DPkg::Lock::Timeout=600)

if [[ $(id -u) -ne 0 ]]; then
  echo "install-qemu.sh: must run as root" >&2
  exit 1
fi

run() { "$@" >>"$LOG" 2>&1; }

apt_updated=0
apt_update() {
  if [[ $apt_updated -eq 0 ]]; then
    run apt-get update
    apt_updated=1
  fi
}

# --- 1. bookworm-backports in the existing Debian source entry -----------------------------------
# The main entry is the stanza whose Suites: line starts with plain `bookworm` (the security entry
# starts with `bookworm-security`). Append `bookworm-backports` to that line once.
if [[ ! -f "$SOURCES" ]]; then
  echo "install-qemu.sh: $SOURCES not found" >&2
  exit 1
fi
if ! grep -Eq '^Suites:.*[[:space:]]bookworm-backports([[:space:]]|$)' "$SOURCES"; then
  sed -i -E '/^Suites:[[:space:]]+bookworm([[:space:]]|$)/ s/[[:space:]]*$/ bookworm-backports/' "$SOURCES"
  grep -Eq '^Suites:.*[[:space:]]bookworm-backports([[:space:]]|$)' "$SOURCES" || {
    echo "install-qemu.sh: could not add bookworm-backports to $SOURCES" >&2
    exit 1
  }
  apt_updated=0
  apt_update
fi

# --- 2. QEMU 10.0 from backports ------------------------------------------------------------------
installed_version() { dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null || true; }
need10=0
for p in qemu-system-x86 qemu-utils; do
  st="$(installed_version "$p")"
  # backports versions carry `~bpo12`; accept any installed 1:10.x
  if [[ "$st" != "installed 1:10."* ]]; then need10=1; fi
done
if [[ $need10 -eq 1 ]]; then
  apt_update
  run apt-get "${APT_WAIT[@]}" install -y -t bookworm-backports qemu-system-x86 qemu-utils
fi

# --- 3. QEMU 7.2 debs from bookworm, unpacked into the cache -------------------------------------
# Version of PACKAGE in the plain `bookworm` suite (not -security, -updates or -backports): the
# first (= highest) `apt-cache madison` line whose archive is `bookworm/...`.
bookworm_version() {
  apt-cache madison "$1" | awk -F'|' '
    { gsub(/^[ \t]+|[ \t]+$/, "", $2); if ($3 ~ /[ \t]bookworm\//) { print $2; exit } }'
}

PKGS72=(qemu-system-x86 qemu-system-common qemu-system-data seabios)
STAMP="$CACHE_72/.migwire-debs"
if [[ ! -x "$CACHE_72/usr/bin/qemu-system-x86_64" || ! -s "$STAMP" ]]; then
  apt_update
  WORK="$(mktemp -d /tmp/qemu72-debs.XXXXXX)"
  chmod 755 "$WORK"
  specs=()
  for p in "${PKGS72[@]}"; do
    v="$(bookworm_version "$p")"
    if [[ -z "$v" ]]; then
      echo "install-qemu.sh: no bookworm version of $p in apt-cache madison" >&2
      exit 1
    fi
    specs+=("$p=$v")
  done
  # apt-get download writes into the current directory; let the _apt user write there.
  chown _apt "$WORK" 2>/dev/null || true
  (cd "$WORK" && run apt-get download "${specs[@]}")
  rm -rf "$CACHE_72.tmp"
  mkdir -p "$CACHE_72.tmp"
  for deb in "$WORK"/*.deb; do
    run dpkg -x "$deb" "$CACHE_72.tmp"
  done
  printf '%s\n' "${specs[@]}" >"$CACHE_72.tmp/.migwire-debs"
  rm -rf "$CACHE_72"
  mv "$CACHE_72.tmp" "$CACHE_72"
fi

# --- 4. QEMU 11.1 from trixie-backports, inside a debootstrapped trixie root ---------------------
# The mirror is the one this machine already uses: the URIs: value of the stanza whose Suites:
# line starts with plain `bookworm` (not the security archive).
debian_mirror() {
  awk 'BEGIN { RS = "" } /(^|\n)Suites:[ \t]+bookworm([ \t]|\n|$)/ {
         if (match($0, /(^|\n)URIs:[ \t]+[^ \t\n]+/)) {
           u = substr($0, RSTART, RLENGTH); sub(/^\n?URIs:[ \t]+/, "", u); print u; exit
         }
       }' "$SOURCES"
}

STAMP111="$CACHE_111/.migwire-qemu"
if [[ ! -x "$CACHE_111/usr/bin/qemu-system-x86_64" || ! -s "$STAMP111" ]]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    apt_update
    run apt-get "${APT_WAIT[@]}" install -y debootstrap
  fi
  mirror="$(debian_mirror)"
  if [[ -z "$mirror" ]]; then
    echo "install-qemu.sh: no URIs: line for bookworm in $SOURCES" >&2
    exit 1
  fi
  ROOT="$CACHE_111.tmp"
  rm -rf "$ROOT"
  mkdir -p "$(dirname "$ROOT")"
  run debootstrap --variant=minbase trixie "$ROOT" "$mirror"
  echo "deb $mirror trixie-backports main" >>"$ROOT/etc/apt/sources.list"
  run chroot "$ROOT" apt-get update
  run chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends -t trixie-backports qemu-system-x86 qemu-utils
  v="$(chroot "$ROOT" dpkg-query -W -f='${Version}' qemu-system-x86)"
  if [[ "$v" != "1:11.1"* ]]; then
    echo "install-qemu.sh: trixie-backports gave qemu-system-x86 $v, not 1:11.1" >&2
    exit 1
  fi
  run chroot "$ROOT" apt-get clean
  echo "qemu-system-x86=$v" >"$ROOT/.migwire-qemu"
  rm -rf "$CACHE_111"
  mv "$ROOT" "$CACHE_111"
fi

# --- 5. Packet capture tools for the pcap tests (packages/pcap: tcpdump, dumpcap, tshark) -------------
# Answer wireshark-common's "may non-superusers capture?" question up front so apt never prompts.
if ! command -v tcpdump >/dev/null || ! command -v tshark >/dev/null || ! command -v dumpcap >/dev/null; then
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  run apt-get update
  run apt-get install -y --no-install-recommends tcpdump tshark
fi

# --- 5b. Headless browser for the report tests (packages/report renders HTML in real chromium) -----
if ! command -v chromium >/dev/null; then
  run apt-get update
  run apt-get install -y --no-install-recommends chromium
fi

# Run the 11.1 binary on the host through the trixie root's own loader and libraries.
qemu111() {
  QEMU_MODULE_DIR="$CACHE_111/usr/lib/x86_64-linux-gnu/qemu" \
    "$CACHE_111/lib64/ld-linux-x86-64.so.2" \
    --library-path "$CACHE_111/usr/lib/x86_64-linux-gnu:$CACHE_111/lib/x86_64-linux-gnu" \
    "$CACHE_111/usr/bin/qemu-system-x86_64" "$@"
}

# --- 6. Check that all three run, print their versions -------------------------------------------
v10="$(/usr/bin/qemu-system-x86_64 --version | head -n1)"
v72="$(QEMU_MODULE_DIR="$CACHE_72/usr/lib/x86_64-linux-gnu/qemu" \
  "$CACHE_72/usr/bin/qemu-system-x86_64" --version | head -n1)"
v111="$(qemu111 --version | head -n1)"
echo "qemu 10.0: /usr/bin/qemu-system-x86_64: $v10"
echo "qemu 7.2:  $CACHE_72/usr/bin/qemu-system-x86_64: $v72"
echo "qemu 11.1: $CACHE_111/usr/bin/qemu-system-x86_64: $v111"
