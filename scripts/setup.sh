#!/usr/bin/env bash
# Set up everything UDI Edge needs on a fresh Debian machine: system packages
# (when missing), the virtual environment at .venv/ and the project in it.
# Idempotent: a second run only checks.  Usage: scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

# The main job needs the simulators (MicroPython VM, firmware build); the
# tests need those and the test tools.
EXTRAS="[sim]"
[ "${1:-}" = "--test" ] && EXTRAS="[test]"

# System packages (Debian).
# mosquitto: the real MQTT broker; postgresql: storage tests and real deployments;
# libusb-1.0-0: USB printers; fonts-arphic-gbsn00lp: Chinese text in label previews.
APT_PACKAGES=(mosquitto postgresql libusb-1.0-0 fonts-arphic-gbsn00lp)
# chromium: the panel's browser tests (Playwright drives Debian's chromium).
[ "${1:-}" = "--test" ] && APT_PACKAGES+=(chromium)
# node + npm: the firmware's tests on MicroPython's 32-bit WebAssembly port
# (from npm; the unix port is 64-bit).  Any node already installed will do.
[ "${1:-}" = "--test" ] && ! command -v npm >/dev/null 2>&1 && APT_PACKAGES+=(nodejs npm)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# Python >= 3.11 for the venv.
PY=""
for c in python3.13 python3.12 python3.11 python3; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PY="$c"; break
  fi
done
[ -n "$PY" ] || { echo "setup: Python >= 3.11 is required" >&2; exit 1; }

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".${EXTRAS}"
echo "setup: ready (.venv/bin/udi-edge)"
