#!/usr/bin/env bash
# The BigQuery emulator used by the tests (PyPI bqemulator 1.4.0) pins duckdb 1.5.5, so it gets
# a virtual environment of its own. DuckDB cannot download its spatial extension here: it is
# installed from the duckdb-extension-spatial package's own file before the emulator starts.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${BQEMULATOR_VENV:-.venv-bqemulator}
if [ ! -x "$VENV/bin/bqemulator" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "bqemulator==1.4.0" "duckdb==1.5.5" \
    "duckdb-extension-spatial==1.5.5" numpy testcontainers
fi
"$VENV/bin/python" - <<'PY'
import pathlib, duckdb, duckdb_extension_spatial
ext = next(pathlib.Path(duckdb_extension_spatial.__file__).parent.rglob("spatial.duckdb_extension"))
duckdb.connect().execute(f"INSTALL '{ext}'")
PY
