#!/usr/bin/env bash
# The main job: set up, then run UDI Edge with embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/udi-edge run "$@"
