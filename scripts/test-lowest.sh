#!/usr/bin/env bash
# The suite without the cluster tests, against the lowest nats-py natsobj supports (see
# pyproject.toml's range and natsobj._natspy.privates.TESTED). CI runs it after scripts/test.sh.
# Usage: bash scripts/test-lowest.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
LOWEST=$(sed -n 's/.*"nats-py>=\([0-9.]*\),.*/\1/p' pyproject.toml)
if [ ! -x .venv-lowest/bin/python ]; then
  "$PY" -m venv .venv-lowest
fi
.venv-lowest/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
.venv-lowest/bin/python -m pip install --quiet -e '.[test]' "nats-py==${LOWEST}.0"
.venv-lowest/bin/python -c "import nats.aio.client as c; print('nats-py', c.__version__)"
exec .venv-lowest/bin/python -m pytest -m "not cluster and not slow" "$@"
