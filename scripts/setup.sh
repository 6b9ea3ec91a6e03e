#!/usr/bin/env bash
# aispend's own environment (.venv, Python >= 3.11) with the project installed editable.
# Re-installs when pyproject.toml changed since the last install (new dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
STAMP=.venv/.pyproject.sha256
WANT=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -x .venv/bin/aispend ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -e ".[test]"
  echo "$WANT" > "$STAMP"
fi
