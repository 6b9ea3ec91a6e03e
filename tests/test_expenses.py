"""Expense exports (Concur, Expensify, Ramp, Brex, a config-mapped tool) -> FOCUS: the mapping,
cents and refunds converted exactly, conservation per period and currency against totals worked
out by hand or read from the CSV with plain Python, the official validator, bad input, and the
nightly job on an inbox folder delivery."""
from __future__ import annotations

import csv
import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from normalizers.errors import BadInputError
from normalizers.normalize import normalize
from pipelines.cli import main
from pipelines.generators.expenses import generate_month
from tests.conftest import CENT, assert_official

PERIOD = "2026-10"


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def samples(folder: Path) -> list[Path]:
    """One small export per product, in its own column names."""
    concur = write_csv(folder / "concur.csv", [
        "Employee ID", "Employee First Name", "Employee Last Name", "Report ID", "Report Entry Transaction Date",
        "Report Entry Expense Type Name", "Report Entry Vendor Name", "Report Entry Vendor Description",
        "Report Entry Description", "Journal Amount", "Journal Debit Or Credit", "Reimbursement Currency",
        "Cost Center", "Credit Card Transaction Merchant Category Code"], [
        ["E1001", "Ada", "Lovelace", "R-1", "2026-10-03", "Airfare", "Lufthansa", "LUFTHANSA 2201", "Flight", "412.30",
         "DR", "EUR", "Engineering", "3008"],
        ["E1001", "Ada", "Lovelace", "R-1", "2026-10-04", "Software", "OpenAI", "OPENAI *CHATGPT SUBSCR", "ChatGPT",
         "20.00", "DR", "USD", "Engineering", "5734"],
        ["E1002", "Alan", "Turing", "R-2", "2026-10-09", "Hotel", "Marriott", "MARRIOTT BERLIN", "Overcharge back",
         "45.10", "CR", "USD", "Research", "3509"],
    ])
    expensify = write_csv(folder / "expensify.csv", [
        "Timestamp", "Merchant", "Amount", "MCC", "Category", "Tag", "Comment", "Reimbursable", "Original Currency",
        "Original Amount", "Receipt"], [
        ["2026-10-05 09:12:00", "Perplexity", "21.60", "5734", "Software", "Sales", "Pro plan", "yes", "GBP",
         "17.00", ""],
        ["2026-10-06 18:40:00", "Sweetgreen", "18.25", "5812", "Meals", "Sales", "", "yes", "USD", "18.25", ""],
    ])
    expensify_api = write_csv(folder / "expensify-api.csv", [
        "accountEmail", "reportID", "transactionID", "created", "merchant", "amount", "currency", "category", "tag",
        "comment", "mcc"], [
        ["grace@example.com", "R00I7J3xs5fn", "t-1", "2026-10-07", "Midjourney", "3000", "USD", "Software",
         "Marketing", "Basic", "5817"],
        ["grace@example.com", "R00I7J3xs5fn", "t-2", "2026-10-08", "Midjourney", "-3000", "USD", "Software",
         "Marketing", "Refund", "5817"],
    ])
    ramp = write_csv(folder / "ramp.csv", [
        "Transaction ID", "Transaction Date", "Merchant Name", "Merchant Descriptor", "Amount", "User", "Department",
        "Ramp Category", "MCC", "Memo"], [
        ["rt-1", "10/11/2026", "Cursor", "CURSOR USAGE", "40.00", "Linus Torvalds", "Engineering", "Software",
         "5734", ""],
        ["rt-2", "10/12/2026", "Uber", "UBER *TRIP HELP.UBER.COM", "-12.34", "Linus Torvalds", "Engineering",
         "Rides", "4121", "refund"],
    ])
    brex = write_csv(folder / "brex.csv", [
        "id", "card_id", "user", "department", "description", "amount.amount", "amount.currency",
        "initiated_at_date", "posted_at_date", "type", "merchant.raw_descriptor", "merchant.mcc"], [
        ["pste_1", "card_1", "Grace Hopper", "Sales", "Anthropic", "2000", "USD", "2026-10-13", "2026-10-14",
         "PURCHASE", "Anthropic* Claude Sub", "5734"],
        ["pste_2", "card_1", "Grace Hopper", "Sales", "Anthropic", "2000", "USD", "2026-10-15", "2026-10-16",
         "REFUND", "Anthropic* Claude Sub", "5734"],
        ["pste_3", "card_2", "Ken Thompson", "", "GitHub", "1905", "USD", "2026-10-16", "2026-10-17",
         "PURCHASE", "GITHUB COPILOT", "5817"],
    ])
    return [concur, expensify, expensify_api, ramp, brex]


# Worked out by hand from the rows above: cents / 100, CR and REFUND negative, as-exported signs kept.
SAMPLE_TOTALS = {
    (PERIOD, "EUR"): Decimal("412.30"),
    (PERIOD, "GBP"): Decimal("17.00"),
    # concur 20.00 - 45.10; expensify 18.25; expensify-api 30.00 - 30.00; ramp 40.00 - 12.34;
    # brex 20.00 - 20.00 + 19.05
    (PERIOD, "USD"): Decimal("20.00") - Decimal("45.10") + Decimal("18.25") + Decimal("40.00") - Decimal("12.34")
                     + Decimal("19.05"),
}


def focus_rows(out: Path) -> list[dict]:
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{out}/*/*.parquet') ORDER BY x_SourceFile, x_SourceRow")
    return [dict(zip(rel.columns, r)) for r in rel.fetchall()]


def totals(out: Path) -> dict:
    return {(p, c): b for p, c, b in duckdb.sql(
        f"SELECT strftime(BillingPeriodStart, '%Y-%m'), BillingCurrency, sum(BilledCost) "
        f"FROM read_parquet('{out}/*/*.parquet') GROUP BY ALL").fetchall()}


def test_every_product_conserves_to_the_cent_and_passes_the_official_validator(tmp_path):
    files = samples(tmp_path / "in")
    result = normalize("expenses", files, tmp_path / "out")
    assert result.rows == 12
    got = totals(tmp_path / "out")
    assert got.keys() == SAMPLE_TOTALS.keys()
    for key, want in SAMPLE_TOTALS.items():
        assert got[key] == want, key  # exact: no rounding anywhere
    assert_official(tmp_path / "out")


def test_focus_mapping_keeps_merchant_descriptor_mcc_employee_department(tmp_path):
    normalize("expenses", samples(tmp_path / "in"), tmp_path / "out")
    rows = {(r["x_SourceFile"], r["x_SourceRow"]): r for r in focus_rows(tmp_path / "out")}
    chatgpt = rows[("concur.csv", 2)]
    assert (chatgpt["ProviderName"], chatgpt["PublisherName"], chatgpt["x_MerchantDescriptor"]) == \
           ("OpenAI", "OpenAI", "OPENAI *CHATGPT SUBSCR")
    assert (chatgpt["x_Mcc"], chatgpt["x_Employee"], chatgpt["x_Department"]) == ("5734", "E1001", "Engineering")
    assert json.loads(chatgpt["Tags"]) == {"department": "Engineering"}
    assert (chatgpt["ChargeCategory"], chatgpt["ServiceCategory"], chatgpt["x_Source"], chatgpt["x_ExpenseFormat"]) == \
           ("Purchase", "Other", "expenses", "concur")
    assert chatgpt["BillingAccountName"] == "SAP Concur" and chatgpt["x_ExpenseCategory"] == "Software"
    assert str(chatgpt["BillingPeriodStart"])[:10] == "2026-10-01" and str(chatgpt["ChargePeriodStart"])[:10] == "2026-10-04"
    refund = rows[("concur.csv", 3)]
    assert refund["BilledCost"] == Decimal("-45.10") and refund["ChargeCategory"] == "Credit"
    brex = rows[("brex.csv", 1)]
    assert brex["BilledCost"] == Decimal("20.00") and brex["x_ExpenseFormat"] == "brex"
    assert (brex["ProviderName"], brex["x_MerchantDescriptor"], brex["x_Employee"]) == \
           ("Anthropic", "Anthropic* Claude Sub", "Grace Hopper")
    assert rows[("brex.csv", 2)]["BilledCost"] == Decimal("-20.00")  # type REFUND: negative
    no_dept = rows[("brex.csv", 3)]
    assert no_dept["x_Department"] is None and no_dept["Tags"] is None
    expensify = rows[("expensify.csv", 1)]
    # No descriptor in the export: the merchant name stands in for it; no employee column.
    assert (expensify["x_MerchantDescriptor"], expensify["x_Employee"], expensify["BillingCurrency"]) == \
           ("Perplexity", None, "GBP")
    assert rows[("expensify-api.csv", 1)]["x_Employee"] == "grace@example.com"
    assert rows[("ramp.csv", 1)]["BillingCurrency"] == "USD"  # Ramp's default: no currency column
    assert {r["x_ExpenseFormat"] for r in rows.values()} == {"concur", "expensify", "expensify-api", "ramp", "brex"}


def test_a_file_spanning_months_lands_in_each_month(tmp_path):
    path = write_csv(tmp_path / "ramp.csv", ["Transaction Date", "Merchant Name", "Amount", "User"], [
        ["2026-09-30", "OpenAI", "20.00", "a"], ["2026-10-01", "OpenAI", "20.00", "b"],
        ["2026-10-31", "Cursor", "40.00", "c"]])
    result = normalize("expenses", [path], tmp_path / "out")
    assert sorted(result.partitions) == ["2026-09", "2026-10"]
    assert totals(tmp_path / "out") == {("2026-09", "USD"): Decimal("20.00"), ("2026-10", "USD"): Decimal("60.00")}


BRex_HEADER = "id,user,amount.amount,amount.currency,initiated_at_date,merchant.raw_descriptor,description"


@pytest.mark.parametrize("body, expected", [
    ("p1,A,1200,USD,2026-10-01,X,Y\np2,A,12x0,USD,2026-10-02,X,Y\n",
     "bad.csv, row 2, column amount.amount: value '12x0' is not a number"),
    ("p1,A,1200,USD,2026-10-01,X,Y\np2,A,1200,XXY,2026-10-01,X,Y\n",
     "bad.csv, row 2, column amount.currency: unknown currency code 'XXY' (expected an ISO 4217 code such as USD)"),
    ("p1,A,1200,USD,2026-13-01,X,Y\n", "bad.csv, row 1, column initiated_at_date: value '2026-13-01' is not a date"),
    ("p1,A,1200,USD,,X,Y\n", "bad.csv, row 1, column initiated_at_date: value NULL is not a date"),
])
def test_bad_values_name_file_row_and_column(tmp_path, body, expected):
    bad = tmp_path / "bad.csv"
    bad.write_text(BRex_HEADER + "\n" + body)
    with pytest.raises(BadInputError) as err:
        normalize("expenses", [bad], tmp_path / "out")
    assert str(err.value) == expected
    assert not list((tmp_path / "out").rglob("*.parquet"))


def test_missing_required_column_and_unknown_format(tmp_path):
    missing = tmp_path / "concur.csv"
    missing.write_text("Employee ID,Report Entry Transaction Date,Reimbursement Currency,Report Entry Vendor Name\n"
                       "E1,2026-10-01,USD,X\n")
    with pytest.raises(BadInputError) as err:
        normalize("expenses", [missing], tmp_path / "out")
    assert str(err.value) == ("concur.csv, column Journal Amount: missing required column 'Journal Amount' (amount) "
                              "for the concur expense export format")
    unknown = tmp_path / "pleo.csv"
    unknown.write_text("Date,Amount,Currency,Vendor\n2026-10-01,1.00,EUR,X\n")
    with pytest.raises(BadInputError) as err:
        normalize("expenses", [unknown], tmp_path / "out")
    assert str(err.value).startswith("pleo.csv: unknown expense export format")
    assert "concur, expensify, expensify-api, ramp, brex" in str(err.value)


PLEO_CONFIG = """
expense_formats:
  - name: pleo
    issuer: "Pleo's card'); DROP TABLE x; --"
    amount_in_cents: true
    columns:
      date: Booked
      amount: [Amount (minor units), Amount]
      currency: Currency
      merchant: Vendor
      descriptor: Statement text
      employee: Member
      department: Team
      refund_marker: Kind
    refund_values: [refund]
    date_formats: ["%d.%m.%Y"]
"""


def test_a_config_mapped_format(tmp_path):
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(PLEO_CONFIG)
    pleo = write_csv(tmp_path / "pleo.csv", ["Booked", "Vendor", "Statement text", "Amount (minor units)",
                                              "Currency", "Member", "Team", "Kind"], [
        ["03.10.2026", "OpenAI", "OPENAI *CHATGPT SUBSCR", "2380", "EUR", "Sophie", "Design", "card"],
        ["04.10.2026", "Notion", "NOTION LABS", "1000", "EUR", "Sophie", "Design", "card"],
        ["05.10.2026", "Notion", "NOTION LABS", "1000", "EUR", "Sophie", "Design", "Refund"]])
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["normalize", "expenses", str(pleo), "-o", str(out), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    rows = focus_rows(out)
    issuer = "Pleo's card'); DROP TABLE x; --"  # config text is data, whatever it holds
    assert [(r["ProviderName"], r["BilledCost"], r["x_ExpenseFormat"], r["BillingAccountName"], r["x_Department"])
            for r in rows] == [("OpenAI", Decimal("23.80"), "pleo", issuer, "Design"),
                               ("Notion", Decimal("10.00"), "pleo", issuer, "Design"),
                               ("Notion", Decimal("-10.00"), "pleo", issuer, "Design")]
    assert str(rows[0]["ChargePeriodStart"])[:10] == "2026-10-03"
    # Without the config the same file is an unknown format.
    result = CliRunner().invoke(main, ["normalize", "expenses", str(pleo), "-o", str(tmp_path / "o2")])
    assert result.exit_code == 2 and "unknown expense export format" in result.stderr


@pytest.mark.parametrize("text, expected", [
    ("expense_formats: {name: x}\n", "'expense_formats' must be a list"),
    ("expense_formats:\n  - {name: x, colums: {}}\n", "unknown key 'expense_formats[0].colums'"),
    ("expense_formats:\n  - {name: x, columns: {date: D, amount: A, currency: C}}\n",
     "'expense_formats[0].columns.merchant' is required"),
    ("expense_formats:\n  - {name: x, columns: {date: D, amount: A, merchant: M, emploee: E}, default_currency: USD}\n",
     "unknown key 'expense_formats[0].columns.emploee'"),
    ("expense_formats:\n  - {name: concur, columns: {date: D, amount: A, currency: C, merchant: M}}\n",
     "format 'concur' is already defined"),
    ("expense_formats:\n  - {name: x, default_currency: ZZZ, columns: {date: D, amount: A, merchant: M}}\n",
     "'ZZZ' is not an ISO 4217 code"),
])
def test_config_errors_name_the_key(tmp_path, text, expected):
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(text)
    result = CliRunner().invoke(main, ["run", "--config", str(cfg)])
    assert result.exit_code != 0 and expected in result.stderr, result.stderr


def read_generated_totals(files: list[Path]) -> dict:
    """The generated exports' totals, read with plain Python: Concur CR negative, Brex in cents."""
    out: dict = {}
    for f in files:
        with open(f, newline="") as fh:
            for row in csv.DictReader(fh):
                if "Journal Amount" in row:
                    amount = Decimal(row["Journal Amount"]) * (-1 if row["Journal Debit Or Credit"] == "CR" else 1)
                    key = (row["Report Entry Transaction Date"][:7], row["Reimbursement Currency"])
                else:
                    cents = Decimal(row["amount.amount"])
                    amount = (-abs(cents) if row["type"] == "REFUND" else cents) / 100
                    key = (row["initiated_at_date"][:7], row["amount.currency"])
                out[key] = out.get(key, Decimal(0)) + amount
    return out


def test_generated_month_is_realistic_and_conserved(tmp_path):
    files = generate_month(tmp_path / "in", PERIOD, seed=3)
    assert [f.name for f in files] == [f"concur-expenses-{PERIOD}.csv", f"brex-transactions-{PERIOD}.csv"]
    out = tmp_path / "out"
    normalize("expenses", files, out)
    want = read_generated_totals(files)
    got = totals(out)
    assert got.keys() == want.keys() == {(PERIOD, "USD"), (PERIOD, "EUR")}
    for key in want:
        assert got[key].quantize(CENT) == want[key].quantize(CENT) == got[key], key
    rows = focus_rows(out)
    employees = {r["x_Employee"] for r in rows if r["x_ExpenseFormat"] == "concur"}
    card_holders = {r["x_Employee"] for r in rows if r["x_ExpenseFormat"] == "brex"}
    assert 20 <= len(card_holders) <= 40 and len(employees) >= 10
    assert len({r["x_Department"] for r in rows}) >= 4
    descriptors = {r["x_MerchantDescriptor"] for r in rows}
    for d in ("OPENAI *CHATGPT SUBSCR", "Anthropic* Claude Sub", "CURSOR USAGE", "GITHUB COPILOT",
              "MIDJOURNEY INC.", "PERPLEXITY AI"):
        assert d in descriptors, d
    buyers = {}
    for r in rows:
        buyers.setdefault(r["x_MerchantDescriptor"], set()).add(r["x_Employee"])
    assert len(buyers["OPENAI *CHATGPT SUBSCR"]) >= 3 and len(buyers["CURSOR USAGE"]) >= 3
    refunds = [r for r in rows if r["BilledCost"] < 0]
    assert len(refunds) == 1 and refunds[0]["ChargeCategory"] == "Credit"
    ai = sum(1 for r in rows if r["x_MerchantDescriptor"] in buyers and r["ProviderName"] in
             ("OpenAI", "Anthropic", "Cursor", "GitHub", "Midjourney", "Perplexity"))
    assert ai < len(rows) / 4  # a minority among travel, meals and other software
    assert_official(out)


def test_generator_every_product_format(tmp_path):
    files = generate_month(tmp_path / "in", PERIOD, seed=4, fmt="all", rows=60)
    result = normalize("expenses", files, tmp_path / "out")
    formats = {r["x_ExpenseFormat"] for r in focus_rows(tmp_path / "out")}
    assert formats == {"concur", "brex", "ramp", "expensify"} and result.rows > 60


def run(data: Path, *args: str):
    return CliRunner().invoke(main, ["run", "--data", str(data), "--period", PERIOD, *args], catch_exceptions=False)


def warehouse_totals(data: Path) -> dict:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        return {(p, c): b for p, c, b in con.execute(
            "SELECT strftime(BillingPeriodStart, '%Y-%m'), BillingCurrency, sum(BilledCost) FROM focus_costs "
            "WHERE x_Source = 'expenses' GROUP BY ALL").fetchall()}
    finally:
        con.close()


def test_aispend_run_on_an_inbox_folder_delivery(tmp_path):
    """The month's exports in one inbox folder are one delivery; the same folder delivered again
    replaces it, another folder adds to the month (expense exports accumulate by inbox entry);
    a bad delivery is quarantined and the last good month stays."""
    data = tmp_path / "data"
    inbox = data / "inbox" / "expenses"
    first = generate_month(inbox / "2026-10", PERIOD, seed=1)
    result = run(data)
    assert result.exit_code == 0, result.output
    assert f"{PERIOD} expenses: published" in result.output
    partition = data / "focus" / "provider=expenses" / f"billing_period={PERIOD}"
    published = json.loads((partition / "_published.json").read_text())
    assert sorted(published["source_files"]) == sorted(f.name for f in first)
    assert {c["name"]: c["passed"] for c in published["checks"]} == {"focus_schema": True, "conservation": True}
    assert warehouse_totals(data) == read_generated_totals(first)

    # The same folder re-delivered with other content replaces it: the new totals, not the sum.
    shutil.rmtree(inbox / "2026-10")
    second = generate_month(inbox / "2026-10", PERIOD, seed=2, rows=120)
    assert run(data).exit_code == 0
    assert warehouse_totals(data) == read_generated_totals(second)

    # Another folder (say, a team's own card program) adds to the month.
    extra = generate_month(inbox / "2026-10-research", PERIOD, seed=4, rows=60)
    assert run(data).exit_code == 0
    both = read_generated_totals(second + extra)
    assert warehouse_totals(data) == both

    # A bad file in a new folder: quarantined with its reason, nothing else changes.
    bad_folder = inbox / "2026-10-v3"
    generate_month(bad_folder, PERIOD, seed=3)
    brex = next(bad_folder.glob("brex-*.csv"))
    lines = brex.read_text().splitlines()
    cells = lines[5].split(",")
    cells[5] = "twenty"
    lines[5] = ",".join(cells)
    brex.write_text("\n".join(lines) + "\n")
    result = run(data)
    assert result.exit_code != 0
    errors = [l for l in result.stderr.splitlines() if l.startswith("aispend: error:")]
    assert len(errors) == 1
    assert f"{brex.name}, row 5, column amount.amount: value 'twenty' is not a number" in errors[0]
    reason = json.loads((data / "quarantine" / "expenses" / (brex.name + ".reason.json")).read_text())
    assert (reason["row"], reason["column"]) == (5, "amount.amount")
    assert warehouse_totals(data) == both
    shutil.rmtree(bad_folder)
    assert run(data).exit_code == 0


def test_aispend_run_reads_the_config_formats(tmp_path):
    """The config's formats reach landing, normalizing and the conservation check of the job."""
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text("data_dir: data\n" + PLEO_CONFIG)
    write_csv(tmp_path / "data" / "inbox" / "expenses" / "2026-10" / "pleo.csv",
              ["Booked", "Vendor", "Amount (minor units)", "Currency", "Team", "Kind"], [
                  ["03.10.2026", "OpenAI", "2380", "EUR", "Design", "card"],
                  ["05.10.2026", "Notion", "1000", "EUR", "Design", "refund"]])
    result = CliRunner().invoke(main, ["run", "--config", str(cfg), "--period", PERIOD], catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    assert f"{PERIOD} expenses: published, 2 rows" in result.output
    assert warehouse_totals(tmp_path / "data") == {(PERIOD, "EUR"): Decimal("13.80")}


def test_generator_takes_the_organisations_department_names(tmp_path):
    names = {"Engineering": "search", "Research": "ml-research", "Sales": "ads", "Marketing": "growth"}
    files = generate_month(tmp_path / "in", PERIOD, seed=3, departments=names)
    normalize("expenses", files, tmp_path / "out")
    rows = focus_rows(tmp_path / "out")
    assert {"search", "ml-research", "ads", "growth", "Finance", "People"} == {r["x_Department"] for r in rows}
    cursor = {r["x_Department"] for r in rows if r["x_MerchantDescriptor"] == "CURSOR USAGE"}
    assert cursor == {"search"}  # code assistants are still bought by (renamed) engineering
