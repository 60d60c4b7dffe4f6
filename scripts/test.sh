#!/usr/bin/env bash
# Set up with the test extras, then run every test (the CI command).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
