"""`aispend demo`: a sample organisation, end to end, on bundled generators (no cloud account)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from .generators.aws_cur import generate
from .runner import run_nightly


def demo_periods(today: dt.date | None = None) -> list[str]:
    """The two last complete months: what a finance lead reviews."""
    first = (today or dt.date.today()).replace(day=1)
    last = (first - dt.timedelta(days=1)).replace(day=1)
    before = (last - dt.timedelta(days=1)).replace(day=1)
    return [before.strftime("%Y-%m"), last.strftime("%Y-%m")]


def run_demo(data_dir: Path, rows: int = 50_000) -> list[str]:
    data_dir = Path(data_dir).resolve()
    inbox = data_dir / "inbox" / "aws-cur"
    periods = demo_periods()
    for i, period in enumerate(periods):
        target = inbox / f"demo-cur-{period}.csv.gz"
        if not target.exists():  # the same export is not re-delivered on a second demo
            generate(target, rows, period, seed=100 + i)
    summary = run_nightly(None, data_dir, periods)
    lines = summary.lines + [f"error: {e}" for e in summary.errors]
    lines += summary_lines(data_dir / "warehouse.duckdb")
    return lines


def summary_lines(warehouse: Path) -> list[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    out = ["", "Spend by billing period (USD)        billed        amortized (EffectiveCost)"]
    for period, billed, eff in con.execute(
            "SELECT billing_period, sum(BilledCost), sum(EffectiveCost) FROM focus_costs GROUP BY 1 ORDER BY 1").fetchall():
        out.append(f"  {period}                  {billed:>16,.2f}   {eff:>16,.2f}")
    out.append("")
    out.append("Top services by amortized cost, all periods")
    for name, cat, eff in con.execute(
            "SELECT ServiceName, ServiceCategory, sum(EffectiveCost) FROM focus_costs GROUP BY 1, 2 "
            "ORDER BY 3 DESC LIMIT 6").fetchall():
        out.append(f"  {name[:38]:<38} {cat[:24]:<24} {eff:>14,.2f}")
    gpu = con.execute("SELECT sum(EffectiveCost) FROM focus_costs WHERE x_InstanceType SIMILAR TO '(ml\\.)?(p4d|p5|g5).*'").fetchone()[0]
    ai = con.execute("SELECT sum(EffectiveCost) FROM focus_costs WHERE ServiceCategory = 'AI and Machine Learning'").fetchone()[0]
    out.append("")
    out.append(f"GPU instances (p4d/p5/g5): {gpu or 0:,.2f}   AI services (Bedrock, SageMaker...): {ai or 0:,.2f}")
    out.append(f"Query it: duckdb {warehouse}  ->  SELECT * FROM focus_costs LIMIT 10;")
    return out
