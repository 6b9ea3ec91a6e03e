"""Invoices and expense exports accumulate: each inbox entry is its own delivery, and a month is
the latest version of every entry (one vendor's bill must not wipe out another's). Cloud exports
keep restating the month whole (tests/test_pipeline.py)."""
from __future__ import annotations

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.storage import DataRoot

PERIOD = "2026-10"
HEADER = ["vendor", "invoice_id", "invoice_date", "description", "amount", "currency"]


def write_invoice(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return path


def run(data: Path):
    result = CliRunner().invoke(main, ["run", "--data", str(data), "--period", PERIOD], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def published(data: Path) -> dict[str, Decimal]:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    rows = con.execute("SELECT ProviderName, sum(BilledCost) FROM focus_costs WHERE x_Source = 'invoices' "
                       "GROUP BY 1").fetchall()
    con.close()
    return {vendor: Decimal(total) for vendor, total in rows}


def test_bills_of_different_vendors_add_up_and_a_corrected_bill_replaces_only_itself(tmp_path):
    data = tmp_path / "data"
    inbox = data / "inbox" / "invoices"
    write_invoice(inbox / "cursor-2026-10.csv", [["Cursor", "C-1", "2026-10-03", "Business seats", "400.00", "USD"]])
    run(data)
    assert published(data) == {"Cursor": Decimal("400.00")}

    write_invoice(inbox / "perplexity-2026-10.csv",
                  [["Perplexity", "P-7", "2026-10-09", "Enterprise Pro", "200.00", "USD"],
                   ["Perplexity", "P-7", "2026-10-09", "Sales tax", "17.50", "USD"]])
    out = run(data)
    assert f"{PERIOD} invoices: published" in out
    assert published(data) == {"Cursor": Decimal("400.00"), "Perplexity": Decimal("217.50")}

    # Cursor re-issues its bill under the same name: it replaces the first version only.
    write_invoice(inbox / "cursor-2026-10.csv", [["Cursor", "C-1b", "2026-10-03", "Business seats", "440.00", "USD"]])
    run(data)
    assert published(data) == {"Cursor": Decimal("440.00"), "Perplexity": Decimal("217.50")}

    # A quiet night changes nothing.
    before = (data / "warehouse.duckdb").stat().st_size, published(data)
    assert "invoices: unchanged" in run(data)
    assert published(data) == before[1]


def test_a_late_row_of_last_month_is_added_to_last_month(tmp_path):
    data = tmp_path / "data"
    inbox = data / "inbox" / "invoices"
    write_invoice(inbox / "openai-2026-10.csv", [["OpenAI", "O-1", "2026-10-31", "ChatGPT Team", "300.00", "USD"]])
    write_invoice(inbox / "openai-2026-11.csv", [["OpenAI", "O-2", "2026-11-30", "ChatGPT Team", "300.00", "USD"],
                                                 ["OpenAI", "O-1x", "2026-10-31", "Late seat", "25.00", "USD"]])
    run(data)
    assert published(data) == {"OpenAI": Decimal("325.00")}  # October: its own bill + the late row


def test_a_delivery_after_a_rejected_one_is_the_latest(tmp_path):
    """Landing numbers deliveries after the highest so far, so removing a rejected delivery's
    folder never gives two deliveries the same number (which would make 'the latest' a guess)."""
    root = DataRoot(tmp_path / "data")
    src = tmp_path / "src"
    a = write_invoice(src / "a.csv", [["Cursor", "C-1", "2026-10-03", "seats", "1.00", "USD"]])
    b = write_invoice(src / "b.csv", [["Cursor", "C-2", "2026-10-03", "seats", "2.00", "USD"]])
    c = write_invoice(src / "c.csv", [["Cursor", "C-3", "2026-10-03", "seats", "3.00", "USD"]])
    first, _ = root.land("invoices", PERIOD, [a], name="bill.csv")
    second, _ = root.land("invoices", PERIOD, [b], name="bill.csv")
    shutil.rmtree(first.folder)  # say the first was rejected and removed
    third, _ = root.land("invoices", PERIOD, [c], name="bill.csv")
    assert root.current_deliveries("invoices", PERIOD, accumulate=True) == [third]
    assert root.latest_delivery("invoices", PERIOD) == third
    assert second != third
