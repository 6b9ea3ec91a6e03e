"""What a report shows, read from warehouse tables only, by the queries in sql/reports/ (the
team and the period are bound parameters, never SQL text). Amounts stay Decimal."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parents[1] / "sql" / "reports"
TOP = 10
_SQL: dict[str, str] = {}


def query(con, name: str, params: list) -> list[dict]:
    """Rows of sql/reports/<name>.sql as dicts."""
    if name not in _SQL:
        _SQL[name] = (SQL_DIR / f"{name}.sql").read_text()
    cur = con.execute(_SQL[name], params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def previous_period(period: str) -> str:
    first = dt.date.fromisoformat(f"{period}-01")
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


def change(cost: Decimal, before: Decimal | None) -> dict:
    """Absolute and relative change (relative None when there is nothing to compare with)."""
    before = before or Decimal(0)
    return {"delta": cost - before, "pct": (cost - before) * 100 / before if before else None}


@dataclass
class TeamReport:
    team: str
    period: str
    previous_period: str
    currency: str
    total: Decimal
    previous: Decimal
    average_3m: Decimal | None  # the 3 months before, over the months the warehouse holds
    months_in_average: int
    history: list[tuple[str, Decimal]]  # (month, cost) up to the period, in the report currency
    other_currencies: list[dict]
    breakdown: dict[str, list[dict]]  # provider / service_category / ai_category -> rows
    services: list[dict]
    resources: list[dict]
    projects: list[dict]
    gpu: list[dict]
    ai_tools: list[dict]
    model_api: list[dict]
    budget: Decimal | None
    budget_currency: str | None
    biggest_change: dict | None = None  # the service that moved most vs the previous month
    charts: dict = field(default_factory=dict)  # filled by the renderer

    @property
    def vs_previous(self) -> dict:
        return change(self.total, self.previous)

    @property
    def vs_average(self) -> dict | None:
        return None if self.average_3m is None else change(self.total, self.average_3m)

    @property
    def budget_used_pct(self) -> Decimal | None:
        if self.budget is None or self.budget_currency != self.currency or not self.budget:
            return None
        return self.total * 100 / self.budget

    @property
    def budget_status(self) -> str | None:
        """'over' at 100% and above, 'warning' from 80%, else 'ok'."""
        pct = self.budget_used_pct
        if pct is None:
            return None
        return "over" if pct >= 100 else "warning" if pct >= 80 else "ok"


def team_report(con, team: str, period: str, settings) -> TeamReport:
    """settings: reports.config.TeamSettings (budget and its currency)."""
    prev = previous_period(period)
    currencies = query(con, "team_currencies", [team, period])
    # the report's currency: the budget's, else the one the team spent most in
    currency = settings.currency if settings.budget is not None else (
        currencies[0]["currency"] if currencies else settings.currency)
    months = [m["billing_period"] for m in query(con, "periods", [period])]
    by_month = {r["billing_period"]: r["cost"] for r in query(con, "team_months", [team, period])
                if r["BillingCurrency"] == currency}
    history = [(m, by_month.get(m, Decimal(0))) for m in months]
    earlier = [m for m in months if m < period][-3:]
    average = sum((by_month.get(m, Decimal(0)) for m in earlier), Decimal(0)) / len(earlier) if earlier else None
    breakdown: dict[str, list[dict]] = {"provider": [], "service_category": [], "ai_category": []}
    for row in query(con, "team_breakdown", [period, team, currency, prev, period]):
        breakdown[row["dimension"]].append({**row, **change(row["cost"], row["previous"])})
    services = [{**r, **change(r["cost"], r["previous"])}
                for r in query(con, "team_services", [period, team, currency, prev, period])]
    rep = TeamReport(
        team=team, period=period, previous_period=prev, currency=currency,
        total=by_month.get(period, Decimal(0)), previous=by_month.get(prev, Decimal(0)),
        average_3m=average, months_in_average=len(earlier), history=history,
        other_currencies=[c for c in currencies if c["currency"] != currency],
        breakdown=breakdown, services=[s for s in services if s["cost"]][:TOP],
        resources=query(con, "team_resources", [team, currency, period, TOP]),
        projects=query(con, "team_projects", [team, currency, period, TOP]),
        gpu=query(con, "team_gpu", [team, currency, period]),
        ai_tools=query(con, "team_ai_tools", [team, currency, period]),
        model_api=query(con, "team_model_api", [team, currency, period]),
        budget=settings.budget, budget_currency=settings.currency if settings.budget is not None else None)
    moved = [s for s in services if s["delta"]]
    if moved:
        rep.biggest_change = max(moved, key=lambda s: (abs(s["delta"]), s["service"]))
    return rep


@dataclass
class FinanceReport:
    period: str
    previous_period: str
    teams: list[dict]
    cost_centers: list[dict]
    reconciliation: list[dict]
    unallocated_total: list[dict]
    unallocated: list[dict]
    ai: list[dict]
    shadow_tools: list[dict]
    budgets: dict  # team -> TeamSettings with a budget
    charts: dict = field(default_factory=dict)


def finance_report(con, period: str, config) -> FinanceReport:
    prev = previous_period(period)
    teams = []
    for row in query(con, "finance_teams", [period, prev, period, prev]):
        settings = config.team(row["team"])
        budget = settings.budget if settings.budget is not None and settings.currency == row["currency"] else None
        pct = row["cost"] * 100 / budget if budget else None
        teams.append({**row, **change(row["cost"], row["previous"]), "budget": budget, "budget_pct": pct,
                      "budget_status": None if pct is None else "over" if pct >= 100 else "warning" if pct >= 80 else "ok"})
    return FinanceReport(
        period=period, previous_period=prev, teams=teams,
        cost_centers=query(con, "finance_cost_centers", [period]),
        reconciliation=query(con, "finance_reconciliation", [period]),
        unallocated_total=query(con, "finance_unallocated_total", [period]),
        unallocated=query(con, "finance_unallocated", [period, TOP]),
        ai=query(con, "finance_ai", [period]),
        shadow_tools=query(con, "finance_shadow_tools", [period]),
        budgets={t: s for t, s in config.teams.items() if s.budget is not None})


def report_teams(con, period: str) -> list[str]:
    return [r["team"] for r in query(con, "teams", [period])]
