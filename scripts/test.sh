#!/usr/bin/env bash
# The test command: make a venv, install natsobj with its test extras, run the whole suite.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/python -m ruff check src tests bench
.venv/bin/python -m ruff format --check src tests bench
.venv/bin/lint-imports --no-cache
exec .venv/bin/python -m pytest "$@"
