"""Token rate cards: the price in force on a date, exact costs, a clear error for a bad row, and
`aispend rate-cards update` importing the installed genai-prices offline and reporting changes."""
from __future__ import annotations

import csv
import datetime as dt
import socket
from decimal import Decimal

import pytest
from click.testing import CliRunner

from normalizers.errors import BadInputError
from normalizers.token_prices import COLUMNS, MODEL_PRICES, RateCard, read_csv
from pipelines.cli import main

HEADER = ",".join(COLUMNS)
CARD = HEADER + """
openai,gpt-4o-mini,1970-01-01,0.15,0.6,0.075,,,,,0.5,small,USD
openai,gpt-4o-mini,2026-10-15,0.10,0.40,0.05,,,,,0.5,small,USD
openai,gpt-4o,1970-01-01,2.5,10,1.25,,,,,0.5,mid,USD
anthropic,claude-sonnet-4-5,2025-09-29,3,15,0.3,3.75,6,,,0.5,mid,USD
"""


@pytest.fixture
def card(tmp_path):
    path = tmp_path / "model_prices.csv"
    path.write_text(CARD)
    return RateCard.load(path)


def test_price_in_force_on_the_usage_date(card):
    before = card.price("OpenAI", "gpt-4o-mini-2024-07-18", dt.date(2026, 10, 14))
    after = card.price("openai", "gpt-4o-mini-2024-07-18", dt.date(2026, 10, 15))
    assert before.unit_price("input") == Decimal("0.15") and after.unit_price("input") == Decimal("0.10")
    # 1,234,567 input tokens: 1.234567 x 0.15 = 0.18518505 before, x 0.10 = 0.1234567 after
    assert before.cost("input", 1_234_567) == Decimal("0.18518505")
    assert after.cost("input", 1_234_567) == Decimal("0.1234567")
    # batch: half price; 3M output x 0.40 x 0.5 = 0.60
    assert after.cost("output", 3_000_000, batch=True) == Decimal("0.6")
    assert after.cost("cache_write_5m", 10) is None  # no such meter for this model


def test_model_names_resolve_to_the_longest_rate_card_name(card):
    assert card.resolve_model("openai", "gpt-4o-mini-2024-07-18") == "gpt-4o-mini"
    assert card.resolve_model("openai", "gpt-4o-2024-08-06") == "gpt-4o"
    assert card.resolve_model("openai", "gpt-4o") == "gpt-4o"
    assert card.resolve_model("openai", "gpt-4omni") is None  # a prefix only at a '-' boundary
    assert card.resolve_model("anthropic", "gpt-4o") is None
    assert card.price("anthropic", "claude-sonnet-4-5-20250929", dt.date(2025, 9, 28)) is None  # not yet priced


def test_bad_rate_card_row_names_row_and_column(tmp_path):
    path = tmp_path / "model_prices.csv"
    path.write_text(CARD + "openai,gpt-x,2026-01-01,cheap,1,,,,,,0,small,USD\n")
    with pytest.raises(BadInputError, match=r"model_prices.csv, row 5, column input: value 'cheap' is not a number"):
        read_csv(path)
    path.write_text(CARD.replace("2026-10-15,0.10,0.40,0.05,,,,,0.5,small,USD", "2026-10-15,0.1,0.4,0.05,,,,,0.5,huge,USD"))
    with pytest.raises(BadInputError, match=r"row 2, column tier: unknown tier 'huge'"):
        read_csv(path)


def test_shipped_rate_card_loads_and_holds_a_real_price_change():
    card = RateCard.load(MODEL_PRICES)
    assert len(card.rows) > 100
    # OpenAI cut o3 from $10/$40 to $2/$8 per 1M tokens on 2025-06-10 (in genai-prices' history).
    assert card.price("openai", "o3-2025-04-16", dt.date(2025, 6, 9)).unit_price("input") == Decimal("10")
    assert card.price("openai", "o3-2025-04-16", dt.date(2025, 6, 10)).unit_price("input") == Decimal("2")
    assert {r.tier for r in card.rows} <= {"small", "mid", "frontier", "reasoning"}


def _rows(path):
    with open(path, newline="") as fh:
        return {(r["provider"], r["model"], r["effective_from"]): r for r in csv.DictReader(fh)}


def test_update_imports_offline_and_reports_changes(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("rate-cards update must not use the network")
    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    path = tmp_path / "model_prices.csv"
    runner = CliRunner()

    first = runner.invoke(main, ["rate-cards", "update", "--file", str(path)], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    rows = _rows(path)
    assert first.output.startswith(f"{len(rows)} added, 0 changed, 0 unchanged, 0 kept")
    assert rows[("openai", "gpt-4o", "1970-01-01")]["input"] == "2.5"

    # Cross-check one imported row against the package's own calculator.
    from genai_prices import Usage, calc_price
    want = calc_price(Usage(input_tokens=1_000_000, output_tokens=1_000_000), "gpt-4o", provider_id="openai",
                      genai_request_timestamp=dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)).total_price
    row = rows[("openai", "gpt-4o", "1970-01-01")]
    assert Decimal(row["input"]) + Decimal(row["output"]) == want

    second = runner.invoke(main, ["rate-cards", "update", "--file", str(path)], catch_exceptions=False)
    assert second.output.startswith(f"0 added, 0 changed, {len(rows)} unchanged, 0 kept")

    # A hand edit: a stale price and our own tier for gpt-4o, and a row genai-prices lacks.
    with open(path, newline="") as fh:
        table = list(csv.DictReader(fh))
    gpt4o = next(r for r in table if (r["provider"], r["model"], r["effective_from"]) == ("openai", "gpt-4o", "1970-01-01"))
    gpt4o.update(input="9.99", tier="frontier")
    table.append(dict(zip(COLUMNS, "mistral,mistral-large,2025-01-01,2,6,,,,,,0,frontier,EUR".split(","))))
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(table)
    dry = runner.invoke(main, ["rate-cards", "update", "--file", str(path), "--dry-run"], catch_exceptions=False)
    assert dry.output.startswith(f"0 added, 1 changed, {len(rows) - 1} unchanged, 1 kept")
    assert "changed openai gpt-4o from 1970-01-01: input 9.99 -> 2.5" in dry.output
    assert _rows(path)[("openai", "gpt-4o", "1970-01-01")]["input"] == "9.99"  # dry run wrote nothing
    third = runner.invoke(main, ["rate-cards", "update", "--file", str(path)], catch_exceptions=False)
    assert third.output == dry.output
    after = _rows(path)
    assert after[("openai", "gpt-4o", "1970-01-01")]["input"] == "2.5"
    assert after[("openai", "gpt-4o", "1970-01-01")]["tier"] == "frontier"  # our tier is kept
    assert after[("mistral", "mistral-large", "2025-01-01")]["currency"] == "EUR"  # our own row is kept


def test_update_matches_the_shipped_file():
    """The committed rate card is what the installed package yields (nothing half-imported)."""
    from pipelines.token_prices_update import update
    report = update(MODEL_PRICES, dry_run=True)
    assert not report.added and not report.changed
