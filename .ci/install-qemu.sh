#!/usr/bin/env bash
# Install the two QEMU releases the real-QEMU harness (test/harness/) drives:
#   - QEMU 10.0 from bookworm-backports, installed system-wide (/usr/bin/qemu-system-x86_64);
#   - QEMU 7.2 from bookworm, NOT installed: its debs are unpacked with `dpkg -x` into
#     /var/cache/migwire/qemu-7.2 (run it with QEMU_MODULE_DIR and -L, see test/harness/qemu.ts).
#
# Idempotent (re-running changes nothing once both are present) and quiet on success: the only
# output is the two version lines at the end. On failure the log of the failing step is printed.
# Must run as root on Debian 12 (bookworm).
set -euo pipefail

CACHE_72="${MIGWIRE_QEMU72_DIR:-/var/cache/migwire/qemu-7.2}"
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
  run apt-get install -y -t bookworm-backports qemu-system-x86 qemu-utils
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

# --- 4. Check that both run, print their versions ---------------------------------------------------
v10="$(/usr/bin/qemu-system-x86_64 --version | head -n1)"
v72="$(QEMU_MODULE_DIR="$CACHE_72/usr/lib/x86_64-linux-gnu/qemu" \
  "$CACHE_72/usr/bin/qemu-system-x86_64" --version | head -n1)"
echo "qemu 10.0: /usr/bin/qemu-system-x86_64: $v10"
echo "qemu 7.2:  $CACHE_72/usr/bin/qemu-system-x86_64: $v72"

# --- 5. Packet capture tools for the pcap tests (packages/pcap: tcpdump, dumpcap, tshark) -------------
# Answer wireshark-common's "may non-superusers capture?" question up front so apt never prompts.
if ! command -v tcpdump >/dev/null || ! command -v tshark >/dev/null || ! command -v dumpcap >/dev/null; then
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  run apt-get update
  run apt-get install -y --no-install-recommends tcpdump tshark
fi
