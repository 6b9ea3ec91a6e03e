#!/usr/bin/env bash
# The whole test suite, from a fresh clone: makes both environments if missing, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/make-validator-venv.sh
bash scripts/make-bqemulator-venv.sh
bash scripts/make-azurite.sh
bash scripts/make-chromium.sh
exec .venv/bin/python -m pytest "$@"
