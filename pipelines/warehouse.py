"""warehouse.duckdb: the analyst's entry point, rebuilt after every publish in one transaction
(an analyst never sees a half-built state).

Build order: reference tables loaded from rate_cards/ and the config (Python: REFERENCE_LOADERS),
then the SQL models in MODELS, one file each under sql/, named by what it builds. Views over
the published Parquet cost nothing to rebuild; models that aggregate are tables."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import duckdb

from normalizers.focus_contract import ALL_COLUMNS
from normalizers.sources import sql_str

from . import ai_catalog, approved_tools
from .allocation import load_allocation
from reports.reference import load_reference as load_model_prices
from .storage import DataRoot

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
MEMORY_LIMIT = "2GB"

# sql/<model>.sql, in dependency order. Each creates the table or view named like its file.
MODELS = [
    "warehouse/focus_costs",
    "warehouse/focus_partitions",
    "enrich/cost_lines",
    # allocation (pipelines/allocation.py loads its reference tables): who pays for each line
    "allocation/alloc_line_tags",
    "allocation/alloc_line_owner",
    "allocation/alloc_pool_lines",
    "allocation/alloc_pool_windows",
    "allocation/alloc_recipients",
    "allocation/allocated_costs",
    "allocation/showback",
    "allocation/chargeback",
    "allocation/chargeback_reconciliation",
    "allocation/gpu_pools",
    "allocation/gpu_pool_teams",
    "allocation/unallocated",
    # the AI inventory: reads cost_lines and allocated_costs
    "inventory/ai_lines",
    "inventory/ai_inventory",
    "inventory/ai_baseline",
]

# Functions (con, config) that create reference tables (rate cards, allocation rules, approved
# tools) before the models run. Config may be None (defaults).
REFERENCE_LOADERS: list[Callable] = [ai_catalog.load_reference, approved_tools.load_reference, load_allocation,
                                     load_model_prices]


def render(name: str, **params: str) -> str:
    """A SQL file with its ${name} placeholders filled in as string literals."""
    text = (SQL_DIR / f"{name}.sql").read_text()
    return re.sub(r"\$\{(\w+)\}", lambda m: sql_str(params[m.group(1)]), text)


def refresh(root: DataRoot, config=None) -> dict[str, int]:
    """(Re)create reference tables, views and models; returns row counts for run metadata."""
    root.root.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(root.warehouse)) as con:
        con.execute("SET TimeZone = 'UTC'")
        # Bounded memory: numbering and allocating millions of lines spills to disk instead of
        # growing (measured: 13 GB unbounded at 5M CUR rows, ~3 GB with a limit).
        if MEMORY_LIMIT:
            con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute("BEGIN")
        try:
            for load in REFERENCE_LOADERS:
                load(con, config)
            for model in MODELS:
                _build(con, root, model)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return {"focus_costs": con.execute("SELECT count(*) FROM focus_costs").fetchone()[0]}


def _build(con, root: DataRoot, model: str) -> None:
    if model == "warehouse/focus_costs" and not any(root.focus_root().glob("*/*/*.parquet")):
        # nothing published yet: the same columns, no rows
        cols = ", ".join(f'CAST(NULL AS {c.sql_type}) AS "{c.name}"' for c in ALL_COLUMNS)
        con.execute(f"CREATE OR REPLACE VIEW focus_costs AS SELECT {cols}, "
                    f"NULL::VARCHAR AS provider, NULL::VARCHAR AS billing_period WHERE false")
        return
    if model == "warehouse/focus_partitions" and not any(root.focus_root().glob("*/*/_published.json")):
        return
    con.execute(render(model, focus_glob=root.focus_glob(),
                       published_glob=str(root.focus_root() / "*" / "*" / "_published.json")))
