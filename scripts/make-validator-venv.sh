#!/usr/bin/env bash
# The FinOps Foundation's focus-validator 2.2.1 needs Python >= 3.12 and pins numpy < 2 (so
# pyarrow <= 25): it gets a virtual environment of its own, apart from aispend's.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FOCUS_VALIDATOR_VENV:-.venv-validator}
if [ -x "$VENV/bin/focus-validator" ]; then exit 0; fi
PY=${FOCUS_VALIDATOR_PYTHON:-}
if [ -z "$PY" ]; then
  for candidate in python3.13 python3.12; do
    if PYENV_VERSION=3.12.1 command -v "$candidate" >/dev/null 2>&1 \
       && PYENV_VERSION=3.12.1 "$candidate" -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then
      PY=$candidate; break
    fi
  done
fi
[ -n "$PY" ] || { echo "focus-validator needs Python >= 3.12 (set FOCUS_VALIDATOR_PYTHON)" >&2; exit 1; }
PYENV_VERSION=3.12.1 "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "focus-validator==2.2.1" "pyarrow<=25"
