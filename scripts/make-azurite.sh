#!/usr/bin/env bash
# Azurite (Azure Storage emulator) from the npm registry, for the Blob tests; local to .azurite/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .azurite/node_modules/.bin/azurite-blob ]; then
  npm install --silent --no-audit --no-fund --prefix .azurite "azurite@3.37.0"
fi
