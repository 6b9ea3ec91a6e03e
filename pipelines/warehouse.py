"""warehouse.duckdb: the analyst's entry point. Views read the published Parquet, so the
warehouse is rebuilt in milliseconds and always shows exactly what is published."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb

from normalizers.focus_contract import ALL_COLUMNS
from normalizers.sources import sql_str

from .storage import DataRoot

SQL_DIR = Path(__file__).resolve().parents[1] / "sql" / "warehouse"


def render(name: str, **params: str) -> str:
    """A SQL file with its ${name} placeholders filled in as string literals."""
    text = (SQL_DIR / f"{name}.sql").read_text()
    return re.sub(r"\$\{(\w+)\}", lambda m: sql_str(params[m.group(1)]), text)


def refresh(root: DataRoot) -> dict[str, int]:
    """(Re)create the views and tables; returns row counts for the run's metadata."""
    root.root.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(root.warehouse)) as con:
        con.execute("SET TimeZone = 'UTC'")
        if any(root.focus_root().glob("*/*/*.parquet")):
            con.execute(render("focus_costs", focus_glob=root.focus_glob()))
        else:  # nothing published yet: the same columns, no rows
            cols = ", ".join(f'CAST(NULL AS {c.sql_type}) AS "{c.name}"' for c in ALL_COLUMNS)
            con.execute(f"CREATE OR REPLACE VIEW focus_costs AS SELECT {cols}, "
                        f"NULL::VARCHAR AS provider, NULL::VARCHAR AS billing_period WHERE false")
        if any(root.focus_root().glob("*/*/_published.json")):
            con.execute(render("focus_partitions",
                               published_glob=str(root.focus_root() / "*" / "*" / "_published.json")))
        return {"focus_costs": con.execute("SELECT count(*) FROM focus_costs").fetchone()[0]}
