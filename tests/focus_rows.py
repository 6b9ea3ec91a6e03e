"""Hand-written FOCUS rows as published partitions, and a warehouse build over them, for the AI
classification and inventory tests."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from normalizers.focus_contract import ALL_COLUMNS, select_list
from pipelines import warehouse
from pipelines.storage import DataRoot, provider_slug

CONTRACT = {c.name for c in ALL_COLUMNS}

def published_files(focus: Path) -> list[Path]:
    """The files readers see under focus/ (provider=<p>/billing_period=<m>/<file>): a glob's `*`
    follows a partition's link to its version folder, where rglob's `**` would not."""
    return sorted(p for p in focus.glob("*/*/*") if p.is_file())


def month(period: str) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.fromisoformat(period + "-01").replace(tzinfo=dt.timezone.utc)
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, end


def write_focus(root: Path, provider: str, period: str, source: str, rows: list[dict]) -> None:
    """One partition focus/provider=<p>/billing_period=<m>/data.parquet from rows giving a few
    columns each; the other mandatory columns get plain defaults. Keys outside the FOCUS
    contract (expense columns not yet in it on this branch) are written as text columns."""
    start, end = month(period)
    full = []
    for i, r in enumerate(rows, start=1):
        cost = Decimal(str(r.get("BilledCost", "0")))
        charge_start = start + dt.timedelta(days=r.pop("day", 0))
        base = {"BillingAccountId": "acct-1", "BillingCurrency": "USD", "BillingPeriodStart": start,
                "BillingPeriodEnd": end, "ChargePeriodStart": charge_start,
                "ChargePeriodEnd": charge_start + dt.timedelta(days=1), "ChargeCategory": "Usage",
                "ChargeFrequency": "Usage-Based", "ProviderName": provider, "PublisherName": provider,
                "InvoiceIssuerName": provider, "ServiceCategory": "Other", "ServiceName": "Other",
                "ServiceSubcategory": "Other (Other)", "ListCost": cost, "ContractedCost": cost,
                "EffectiveCost": cost, "x_Source": source, "x_SourceFile": f"{source}.csv", "x_SourceRow": i}
        full.append(base | r | {"BilledCost": cost})
    names = sorted({k for r in full for k in r})
    table = pa.table({n: pa.array([None if r.get(n) is None else str(r[n]) for r in full], pa.string())
                      for n in names})
    extras = [n for n in names if n not in CONTRACT]
    select = select_list({n: f'"{n}"' for n in names if n in CONTRACT})
    select += "".join(f', "{n}"' for n in extras)
    target = DataRoot(root).partition(provider, period)
    target.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.register("rows_in", table)
    con.execute(f"COPY (SELECT {select} FROM rows_in) TO '{target / 'data.parquet'}' (FORMAT parquet)")
    con.close()
    assert provider_slug(provider) in str(target)


def build(root: Path, config=None) -> duckdb.DuckDBPyConnection:
    """warehouse.refresh over the root: the real reference loaders and models (allocation
    included), one transaction."""
    warehouse.refresh(DataRoot(root), config)
    return duckdb.connect(str(DataRoot(root).warehouse), read_only=True)
