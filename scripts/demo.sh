#!/usr/bin/env bash
# Set up the environment and run the sample organisation end to end (./data, no cloud account).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/aispend demo "$@"
