from __future__ import annotations

import csv
import gzip
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CENT = Decimal("0.01")
AWS_SAMPLES = sorted((SHARED / "samples" / "aws").glob("*.csv")) if SHARED.exists() else []


def read_source_rows(path: Path) -> list[dict]:
    """The export's rows as plain dicts, read without aispend's code (an independent reading)."""
    if path.name.endswith(".parquet"):
        return pq.read_table(path).to_pylist()
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return [dict(zip(header, row)) for row in reader]


def field(row: dict, legacy: str, snake: str):
    value = row.get(legacy, row.get(snake))
    return None if value in (None, "") else value


def dec(value) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def expected_totals(path: Path) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """Per (billing period, currency): (sum of unblended cost, amortized total by AWS's formula)."""
    out: dict = {}
    for row in read_source_rows(path):
        f = lambda legacy, snake: field(row, legacy, snake)  # noqa: E731
        kind = f("lineItem/LineItemType", "line_item_line_item_type")
        billed = dec(f("lineItem/UnblendedCost", "line_item_unblended_cost"))
        amortized = {
            "DiscountedUsage": lambda: dec(f("reservation/EffectiveCost", "reservation_effective_cost")),
            "SavingsPlanCoveredUsage": lambda: dec(f("savingsPlan/SavingsPlanEffectiveCost",
                                                     "savings_plan_savings_plan_effective_cost")),
            "SavingsPlanNegation": lambda: Decimal(0),
            "SavingsPlanUpfrontFee": lambda: Decimal(0),
            "SavingsPlanRecurringFee": lambda: dec(f("savingsPlan/TotalCommitmentToDate", "savings_plan_total_commitment_to_date"))
                                               - dec(f("savingsPlan/UsedCommitment", "savings_plan_used_commitment")),
            "RIFee": lambda: dec(f("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
                                   "reservation_unused_amortized_upfront_fee_for_billing_period"))
                             + dec(f("reservation/UnusedRecurringFee", "reservation_unused_recurring_fee")),
            "Fee": lambda: Decimal(0) if f("reservation/ReservationARN", "reservation_reservation_a_r_n") else billed,
        }.get(kind, lambda: billed)()
        period = str(f("bill/BillingPeriodStartDate", "bill_billing_period_start_date"))[:7]
        key = (period, f("lineItem/CurrencyCode", "line_item_currency_code"))
        b, a = out.get(key, (Decimal(0), Decimal(0)))
        out[key] = (b + billed, a + amortized)
    return out


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """One synthetic CUR per format (small, but every line item type is present)."""
    from pipelines.generators.aws_cur import generate
    base = tmp_path_factory.mktemp("generated")
    return {fmt: generate(base / f"cur.{ext}", 20_000, "2026-10", seed=5, fmt=fmt)
            for fmt, ext in (("legacy-csv", "csv.gz"), ("cur2-parquet", "parquet"), ("cur2-csv", "csv"))}


def focus_totals(out: Path) -> dict:
    """Per (billing period, currency): (sum BilledCost, sum EffectiveCost) of FOCUS output."""
    rows = duckdb.sql(f"SELECT strftime(BillingPeriodStart, '%Y-%m'), BillingCurrency, sum(BilledCost), "
                      f"sum(EffectiveCost) FROM read_parquet('{out}/*/*.parquet') GROUP BY ALL").fetchall()
    return {(p, c): (b, e) for p, c, b, e in rows}


def assert_totals(want: dict, out: Path):
    """FOCUS output's BilledCost and EffectiveCost equal `want` per period and currency, to the cent."""
    got = focus_totals(out)
    assert set(got) == set(want)
    for key, (billed, effective) in want.items():
        assert got[key][0].quantize(CENT) == billed.quantize(CENT), f"BilledCost {key}: {got[key][0]} vs {billed}"
        assert got[key][1].quantize(CENT) == effective.quantize(CENT), f"EffectiveCost {key}: {got[key][1]} vs {effective}"


def assert_official(out: Path):
    """The FinOps Foundation's validator fails no rule on any FOCUS file under `out`."""
    from normalizers.conformance import run_validator
    parts = sorted(out.rglob("*.parquet"))
    assert parts
    for part in parts:
        result = run_validator(part)
        assert result.tests > 100, "the validator ran no rules"
        assert result.failed == {}, f"{part}: {result.failed}"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """`aispend demo` once for the whole session (its data folder, its summary lines)."""
    from pipelines.demo import run_demo
    data = tmp_path_factory.mktemp("demo")
    return data, run_demo(data, rows=8_000)
