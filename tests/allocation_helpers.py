"""Build a warehouse from hand-made cost lines and an allocation config (tests only)."""
from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import yaml

from normalizers.focus_contract import ALL_COLUMNS
from normalizers.sources import sql_str
from pipelines import warehouse
from pipelines.config import load_config
from pipelines.storage import DataRoot

DEFAULTS = {
    "BillingCurrency": "USD", "ProviderName": "AWS", "ServiceName": "Amazon Elastic Compute Cloud",
    "ServiceCategory": "Compute", "ChargeCategory": "Usage", "BillingAccountId": "payer",
    "SubAccountId": "acct-1", "InvoiceId": "INV-1", "x_Source": "test", "x_SourceFile": "test.csv",
}


def write_lines(root: Path, lines: list[dict]) -> None:
    """FOCUS partitions (provider=<p>/billing_period=<m>/data.parquet) holding `lines`: dicts of
    FOCUS columns; `period` (YYYY-MM), `start` and `end` (ChargePeriod, ISO; default one hour)
    are shortcuts;
    BilledCost/EffectiveCost are Decimals; Tags a dict."""
    by_part = defaultdict(list)
    for i, line in enumerate(lines, start=1):
        row = DEFAULTS | {"x_SourceRow": i} | {k: v for k, v in line.items() if k not in ("period", "start", "end")}
        period = line.get("period", "2026-10")
        row["BillingPeriodStart"] = f"{period}-01 00:00:00+00"
        row["ChargePeriodStart"] = line.get("start", f"{period}-01 00:00:00+00")
        start = dt.datetime.fromisoformat(row["ChargePeriodStart"].replace("+00", "+00:00"))
        row["ChargePeriodEnd"] = line.get("end", str(start + dt.timedelta(hours=1)))  # an hourly line
        if isinstance(row.get("Tags"), dict):
            row["Tags"] = json.dumps(row["Tags"])
        row.setdefault("EffectiveCost", row.get("BilledCost", Decimal(0)))
        by_part[(row["ProviderName"], period)].append(row)
    con = duckdb.connect()
    for (provider, period), rows in by_part.items():
        cols = list(ALL_COLUMNS)
        con.execute("CREATE OR REPLACE TABLE t (" + ", ".join(f'"{c.name}" {c.sql_type}' for c in cols) + ")")
        con.executemany("INSERT INTO t VALUES (" + ", ".join("?" for _ in cols) + ")",
                        [[r.get(c.name) for c in cols] for r in rows])
        part = DataRoot(root).partition(provider, period)
        part.mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY t TO {sql_str(part / 'data.parquet')} (FORMAT parquet)")
    con.close()


def build(root: Path, lines: list[dict], allocation: dict | None, files: dict[str, str] | None = None):
    """Write lines, config (and side files such as usage CSVs) under root; build the warehouse;
    return a read-only connection to it."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (root / name).write_text(text)
    write_lines(root, lines)
    cfg_path = root / "aispend.yaml"
    cfg_path.write_text(yaml.safe_dump({"data_dir": ".", **({"allocation": allocation} if allocation else {})}))
    warehouse.refresh(DataRoot(root), load_config(cfg_path))
    return duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)


def totals_by_team(con, column: str = "EffectiveCost", where: str = "true") -> dict[str, Decimal]:
    return dict(con.execute(f"SELECT x_Team || CASE WHEN AllocatedMethodId = 'pool-idle' THEN ' (idle)' ELSE '' END, "
                            f"sum({column}) FROM allocated_costs WHERE {where} GROUP BY 1").fetchall())


def assert_conserved(con) -> None:
    """Per billing period and currency, and per cost line: allocated = cost lines, exactly."""
    for col in ("BilledCost", "EffectiveCost"):
        want = con.execute(f"SELECT billing_period, BillingCurrency, sum({col}) FROM cost_lines GROUP BY ALL ORDER BY ALL").fetchall()
        got = con.execute(f"SELECT billing_period, BillingCurrency, sum({col}) FROM allocated_costs GROUP BY ALL ORDER BY ALL").fetchall()
        assert got == want, col
        bad = con.execute(f"""
            SELECT count(*) FROM cost_lines l
            FULL JOIN (SELECT x_LineId, sum({col}) AS s FROM allocated_costs GROUP BY 1) a USING (x_LineId)
            WHERE a.s IS DISTINCT FROM l.{col}""").fetchone()[0]
        assert bad == 0, f"{bad} lines whose {col} allocations do not sum to the line"
