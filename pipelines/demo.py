"""`aispend demo`: a sample organisation, end to end, on bundled generators (no cloud account)."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb

from .generators import anthropic, expenses, invoices, openai
from .generators.aws_cur import generate, generate_gpu_usage
from .config import load_config
from .runner import run_nightly


DEMO_CONFIG = Path(__file__).with_name("demo_config.yaml")
# The expense platform's departments, named as the demo's teams (demo_config.yaml).
DEPARTMENT_TEAMS = {"Engineering": "search", "Research": "ml-research", "Sales": "sales",
                    "Marketing": "marketing", "Finance": "finance", "People": "people"}


def _once(target: Path, write) -> None:
    """Write a demo delivery unless it is there: a second demo re-delivers nothing."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        write(target)


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
    curs = []
    for i, period in enumerate(periods):
        target = inbox / f"demo-cur-{period}.csv.gz"
        if not target.exists():  # the same export is not re-delivered on a second demo
            generate(target, rows, period, seed=100 + i)
        curs.append(target)
    # AI vendors' Admin API exports, AI SaaS invoices, and expense reports with AI subscriptions
    # among travel and meals; each month's delivery is written once.
    for i, period in enumerate(periods):
        _once(data_dir / "inbox" / "openai" / period, lambda p: openai.generate(p, period=period, seed=200 + i))
        _once(data_dir / "inbox" / "anthropic" / period, lambda p: anthropic.generate(p, period=period, seed=300 + i))
        _once(data_dir / "inbox" / "invoices" / f"invoices-{period}.csv",
              lambda p: invoices.generate(p, period=period, seed=400 + i))
        _once(data_dir / "inbox" / "expenses" / period,
              lambda p: expenses.generate_month(p, period, seed=500, departments=DEPARTMENT_TEAMS))
    # The organisation's config (allocation rules, the shared GPU cluster) and the cluster's
    # GPU-hours usage file, beside the data.
    config = data_dir / "aispend.yaml"
    shutil.copyfile(DEMO_CONFIG, config)
    generate_gpu_usage(curs, data_dir / "gpu_usage.csv")
    summary = run_nightly(config, data_dir, periods)
    lines = summary.lines + [f"error: {e}" for e in summary.errors]
    lines += summary_lines(data_dir / "warehouse.duckdb")
    # the last month's showback reports, as .eml and .html files (a dry run: nothing is mailed)
    from reports.run import make_reports
    lines += make_reports(load_config(config, data_dir), periods[-1]).lines()
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
    out += allocation_lines(con)
    out += ai_lines(con)
    out.append(f"Query it: duckdb {warehouse}  ->  SELECT * FROM showback LIMIT 10;")
    return out


def allocation_lines(con) -> list[str]:
    """A short showback: amortized cost per team and month, the shared GPU cluster, and what no
    rule claimed."""
    out = ["", "Showback, amortized cost (EffectiveCost) by team"]
    rows = con.execute("SELECT x_Team, x_BusinessUnit, billing_period, sum(EffectiveCost) FROM showback "
                       "GROUP BY ALL ORDER BY min(x_Team = 'unallocated'), 1, 3").fetchall()
    periods = sorted({r[2] for r in rows})
    out.append(f"  {'team':<14}{'business unit':<15}" + "".join(f"{p:>16}" for p in periods))
    by_team: dict = {}
    for team, bu, period, eff in rows:
        by_team.setdefault((team, bu), {})[period] = eff
    for (team, bu), amounts in by_team.items():
        out.append(f"  {team:<14}{bu:<15}" + "".join(f"{amounts.get(p, 0):>16,.2f}" for p in periods))
    out.append("")
    out.append("Shared GPU cluster          paid GPU-h   used GPU-h   idle GPU-h  util %   cost/used GPU-h")
    for pool, period, paid, used, idle, util, cost in con.execute(
            "SELECT pool, billing_period, paid_gpu_hours, used_gpu_hours, idle_gpu_hours, utilization_pct, "
            "cost_per_used_gpu_hour FROM gpu_pools ORDER BY ALL").fetchall():
        out.append(f"  {pool} {period}  {paid or 0:>12,.1f} {used or 0:>12,.1f} {idle or 0:>12,.1f} "
                   f"{util or 0:>7.1f} {cost or 0:>17,.2f}")
    for period, eff in con.execute("SELECT billing_period, sum(EffectiveCost) FROM unallocated "
                                   "GROUP BY 1 ORDER BY 1").fetchall():
        out.append(f"Unallocated {period}: {eff:,.2f} (see the `unallocated` table)")
    return out


def ai_lines(con) -> list[str]:
    """The AI-spend baseline of the last month: by category, approved vs shadow, shadow tools."""
    row = con.execute("SELECT billing_period, ai_effective_cost, gpu_compute, managed_ai, model_api, ai_saas, "
                      "shadow_cost, shadow_share FROM ai_baseline WHERE BillingCurrency = 'USD' "
                      "ORDER BY billing_period DESC LIMIT 1").fetchone()
    if row is None:
        return []
    period, total, gpu, managed, api, saas, shadow, share = row
    out = ["", f"AI spend {period} (USD, amortized): {total:,.2f} = GPU compute {gpu:,.2f} + managed AI "
               f"{managed:,.2f} + model APIs {api:,.2f} + AI SaaS {saas:,.2f}",
           f"  shadow (no approved tool): {shadow:,.2f} ({share:.1%}); shadow tools:"]
    for tool, source, cost, users in con.execute(
            "SELECT tool, source, sum(EffectiveCost), max(users) FROM ai_inventory WHERE billing_period = ? "
            "AND status = 'shadow' AND BillingCurrency = 'USD' GROUP BY 1, 2 ORDER BY 3 DESC", [period]).fetchall():
        who = f", {users} user(s)" if users else ""
        out.append(f"    {tool:<24} {source:<8} {cost:>12,.2f}{who}")
    out.append("  (SELECT * FROM ai_inventory / ai_baseline in the warehouse)")
    return out
