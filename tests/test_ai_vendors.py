"""AI-vendor sources (openai, anthropic, invoices): conservation to the cent against totals
computed here from the raw files, the official validator, token pricing against hand
computations, no double counting of usage covered by a cost export, and bad input that is
named by file, item and field and quarantined by the nightly job."""
from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from decimal import Decimal, localcontext
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from conftest import CENT, assert_official
from focus_rows import published_files
from normalizers import token_prices
from normalizers.errors import BadInputError
from normalizers.normalize import normalize
from pipelines.cli import main
from pipelines.generators import anthropic as gen_anthropic
from pipelines.generators import invoices as gen_invoices
from pipelines.generators import openai as gen_openai

PERIOD = "2026-10"
OCT_14, OCT_15 = 1791936000, 1792022400  # 2026-10-14 / -15 00:00 UTC (Unix seconds)
DAY = 86400

# A rate card of our own, so that hand computations do not move when the real one is updated.
# gpt-4o-mini gets cheaper on 2026-10-15.
CARD = """provider,model,effective_from,input,output,cached_read,cache_write_5m,cache_write_1h,audio_input,audio_output,batch_discount,tier,currency
openai,gpt-4o-mini,1970-01-01,0.15,0.6,0.075,,,,,0.5,small,USD
openai,gpt-4o-mini,2026-10-15,0.10,0.40,0.05,,,,,0.5,small,USD
openai,gpt-realtime,1970-01-01,4,16,0.4,,,32,64,0,mid,USD
anthropic,claude-sonnet-4-5,1970-01-01,3,15,0.3,3.75,6,,,0.5,mid,USD
anthropic,claude-haiku-4-5,1970-01-01,1,5,0.1,1.25,2,,,0.5,small,USD
"""


@pytest.fixture(autouse=True)
def test_card(tmp_path, monkeypatch):
    path = tmp_path / "model_prices.csv"
    path.write_text(CARD)
    monkeypatch.setattr(token_prices, "MODEL_PRICES", path)
    return path


def focus(out: Path, where: str = "true") -> list[dict]:
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{out}/*/*.parquet') WHERE {where}")
    return [dict(zip(rel.columns, r)) for r in rel.fetchall()]


def billed_by(out: Path) -> dict[tuple[str, str], Decimal]:
    got = {}
    for r in focus(out):
        key = (r["BillingPeriodStart"].strftime("%Y-%m"), r["BillingCurrency"])
        got[key] = got.get(key, Decimal(0)) + r["BilledCost"]
    return got


def assert_cents(got: dict, want: dict):
    assert set(got) == set(want)
    for k in want:
        assert got[k].quantize(CENT) == want[k].quantize(CENT), (k, got[k], want[k])


def openai_usage_page(*results_by_day) -> dict:
    return {"object": "page", "has_more": False, "next_page": None, "data": [
        {"object": "bucket", "start_time": start, "end_time": start + DAY,
         "results": [{"object": "organization.usage.completions.result", "num_model_requests": 10,
                      "project_id": "proj_a", "user_id": None, "api_key_id": None, "batch": False, **r}
                     for r in results]}
        for start, results in results_by_day]}


def write(path: Path, doc) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


# --- OpenAI ---------------------------------------------------------------------------------

def raw_openai_totals(files: list[Path]) -> dict:
    """Per (month, currency): the sum of every costs result's amount.value, read here."""
    out = {}
    for f in files:
        doc = json.loads(f.read_text(), parse_float=Decimal)
        for page in doc if isinstance(doc, list) else [doc]:
            for bucket in page["data"]:
                month = dt.datetime.fromtimestamp(bucket["start_time"], dt.timezone.utc).strftime("%Y-%m")
                for r in bucket["results"]:
                    if r["object"] == "organization.costs.result":
                        key = (month, r["amount"]["currency"].upper())
                        out[key] = out.get(key, Decimal(0)) + Decimal(str(r["amount"]["value"]))
    return out


def test_openai_cost_export_is_authoritative_and_usage_adds_tokens(tmp_path, test_card):
    delivery = gen_openai.generate(tmp_path / "oai", period=PERIOD, seed=3)
    files = sorted(delivery.glob("*.json"))
    # Some amounts are strings, some numbers (both occur in real exports).
    kinds = {type(r["amount"]["value"]) for f in files if f.name.startswith("costs")
             for b in json.loads(f.read_text())["data"] for r in b["results"]}
    assert kinds == {str, float}
    out = tmp_path / "focus"
    normalize("openai", files, out)
    assert_cents(billed_by(out), raw_openai_totals(files))
    # Usage rows: every token of the usage pages is there, at cost 0 (no double count).
    usage = focus(out, "x_ChargeType = 'usage-covered'")
    assert usage and all(r["BilledCost"] == 0 and r["ConsumedUnit"] == "Tokens" for r in usage)
    tokens = sum(r["input_tokens"] + r["output_tokens"] + r["input_audio_tokens"] + r["output_audio_tokens"]
                 for f in files if f.name.startswith("usage")
                 for b in json.loads(f.read_text())["data"] for r in b["results"])
    assert sum(r["ConsumedQuantity"] for r in usage) == tokens
    r = focus(out, "x_ChargeType = 'cost'")[0]
    assert (r["ProviderName"], r["PublisherName"], r["InvoiceIssuerName"]) == ("OpenAI",) * 3
    assert (r["ServiceCategory"], r["ServiceName"], r["x_Source"]) == ("AI and Machine Learning", "OpenAI API", "openai")
    assert r["SkuId"].startswith(("gpt-", "o3-")) and r["SubAccountId"].startswith("proj_")
    assert_official(out)


def test_openai_usage_without_cost_is_priced_by_hand(tmp_path):
    # gpt-4o-mini on 2026-10-14 (old price): 600k uncached input x 0.15 + 400k cached x 0.075
    #   + 200k output x 0.60 (per 1M) = 0.09 + 0.03 + 0.12 = 0.24
    # batch on 2026-10-14: 2M input x 0.15 x 0.5 + 1M output x 0.60 x 0.5 = 0.15 + 0.30 = 0.45
    # gpt-4o-mini on 2026-10-15 (new price): 600k x 0.10 + 400k x 0.05 + 200k x 0.40 = 0.06 + 0.02 + 0.08 = 0.16
    # gpt-realtime, 2026-10-15: 100k text in x 4 + 50k audio in x 32 + 10k out x 16 + 20k audio out x 64
    #   = 0.4 + 1.6 + 0.16 + 1.28 = 3.44
    same = {"model": "gpt-4o-mini-2024-07-18", "input_tokens": 1_000_000, "input_cached_tokens": 400_000,
            "output_tokens": 200_000}
    page = openai_usage_page(
        (OCT_14, [same, {"model": "gpt-4o-mini-2024-07-18", "input_tokens": 2_000_000, "output_tokens": 1_000_000,
                         "input_cached_tokens": 0, "batch": True}]),
        (OCT_15, [same, {"model": "gpt-realtime-2025-08-28", "input_tokens": 100_000, "input_cached_tokens": 0,
                         "input_audio_tokens": 50_000, "output_tokens": 10_000, "output_audio_tokens": 20_000}]))
    out = tmp_path / "focus"
    normalize("openai", [write(tmp_path / "usage.json", page)], out)
    rows = focus(out)
    by_day = {}
    for r in rows:
        by_day[(r["ChargePeriodStart"].day, r["SkuId"])] = by_day.get((r["ChargePeriodStart"].day, r["SkuId"]), 0) + r["BilledCost"]
    assert by_day == {(14, "gpt-4o-mini-2024-07-18"): Decimal("0.69"), (15, "gpt-4o-mini-2024-07-18"): Decimal("0.16"),
                      (15, "gpt-realtime-2025-08-28"): Decimal("3.44")}
    # The price change on 2026-10-15 prices the same usage differently on either side of it.
    assert by_day[(14, "gpt-4o-mini-2024-07-18")] - Decimal("0.45") != by_day[(15, "gpt-4o-mini-2024-07-18")]
    cached = [r for r in rows if r["SkuMeter"] == "cached_read" and r["ChargePeriodStart"].day == 14][0]
    assert (cached["ListUnitPrice"], cached["PricingQuantity"], cached["PricingUnit"]) == (Decimal("0.075"), Decimal("0.4"), "1000000 Tokens")
    assert cached["ListCost"] == cached["ListUnitPrice"] * cached["PricingQuantity"] == Decimal("0.03")
    assert cached["SkuPriceId"] == "openai:gpt-4o-mini:1970-01-01:cached_read"
    assert_cents(billed_by(out), {(PERIOD, "USD"): Decimal("4.29")})
    assert_official(out)


def test_usage_of_an_unpriced_model_without_cost_export_is_bad_input(tmp_path):
    page = openai_usage_page((OCT_14, [{"model": "gpt-9-secret", "input_tokens": 5, "output_tokens": 1}]))
    with pytest.raises(BadInputError) as err:
        normalize("openai", [write(tmp_path / "usage.json", page)], tmp_path / "out")
    assert str(err.value).startswith("usage.json, row 1, column model: no rate-card price for model 'gpt-9-secret'")
    assert "data[0].results[0]" in str(err.value)


# --- Anthropic ------------------------------------------------------------------------------

def test_anthropic_cents_are_converted_exactly(tmp_path):
    amounts = ["123.45", "0.5", "99999999999.99", "7", "0.0001", "-250",  # cents, as strings
               "9999999999999999999.123456789123"]  # 31 digits: more than Python's default 28
    page = {"has_more": False, "next_page": None, "data": [
        {"starting_at": "2026-10-03T00:00:00Z", "ending_at": "2026-10-04T00:00:00Z", "results": [
            {"currency": "USD", "amount": a, "workspace_id": "wrkspc_1", "description": "Claude Sonnet 4.5 Usage",
             "cost_type": "tokens", "model": "claude-sonnet-4-5-20250929", "token_type": "output_tokens",
             "service_tier": "standard", "context_window": "0-200k"} for a in amounts]}]}
    out = tmp_path / "focus"
    normalize("anthropic", [write(tmp_path / "cost_report.json", page)], out)
    got = sorted(r["BilledCost"] for r in focus(out))
    with localcontext(prec=60):
        assert got == sorted((Decimal(a) / 100).quantize(Decimal("1e-12")) for a in amounts)
    assert Decimal("1.2345") in got and Decimal("0.000001") in got and Decimal("999999999.9999") in got
    assert Decimal("99999999999999999.991234567891") in got
    assert {r["ChargeCategory"] for r in focus(out, "BilledCost < 0")} == {"Credit"}
    assert_official(out)


def test_anthropic_delivery_conserves_cost_to_the_cent(tmp_path):
    delivery = gen_anthropic.generate(tmp_path / "anth", period=PERIOD, seed=4)
    files = sorted(delivery.glob("*.json"))
    want = {}
    for f in files:
        if f.name.startswith("cost_report"):
            for b in json.loads(f.read_text())["data"]:
                for r in b["results"]:
                    key = (b["starting_at"][:7], r["currency"])
                    want[key] = want.get(key, Decimal(0)) + Decimal(r["amount"]) / 100
    out = tmp_path / "focus"
    normalize("anthropic", files, out)
    assert_cents(billed_by(out), want)
    covered = focus(out, "x_ChargeType = 'usage-covered'")
    assert covered and sum(r["BilledCost"] for r in covered) == 0
    assert {r["SubAccountId"] for r in covered} >= {"default", "wrkspc_01JuristAssist"}
    assert {r["SkuMeter"] for r in covered} == {"input", "cached_read", "cache_write_5m", "cache_write_1h", "output"}
    assert_official(out)


def test_anthropic_usage_is_priced_by_hand(tmp_path):
    # claude-sonnet-4-5 standard: 1M uncached x 3 + 2M cache read x 0.3 + 100k 5m write x 3.75
    #   + 40k 1h write x 6 + 300k output x 15 = 3 + 0.6 + 0.375 + 0.24 + 4.5 = 8.715
    # claude-haiku-4-5 batch (50% off): 4M uncached x 1 x 0.5 + 1M output x 5 x 0.5 = 2 + 2.5 = 4.5
    page = {"has_more": False, "next_page": None, "data": [
        {"starting_at": "2026-10-03T00:00:00Z", "ending_at": "2026-10-04T00:00:00Z", "results": [
            {"uncached_input_tokens": 1_000_000, "cache_read_input_tokens": 2_000_000,
             "cache_creation": {"ephemeral_5m_input_tokens": 100_000, "ephemeral_1h_input_tokens": 40_000},
             "output_tokens": 300_000, "server_tool_use": {"web_search_requests": 0}, "api_key_id": "apikey_1",
             "workspace_id": None, "model": "claude-sonnet-4-5-20250929", "service_tier": "standard"},
            {"uncached_input_tokens": 4_000_000, "cache_read_input_tokens": 0,
             "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
             "output_tokens": 1_000_000, "api_key_id": "apikey_2", "workspace_id": "wrkspc_2",
             "model": "claude-haiku-4-5-20251001", "service_tier": "batch"}]}]}
    out = tmp_path / "focus"
    normalize("anthropic", [write(tmp_path / "usage.json", page)], out)
    by_model = {}
    for r in focus(out):
        by_model[r["SkuId"]] = by_model.get(r["SkuId"], 0) + r["BilledCost"]
    assert by_model == {"claude-sonnet-4-5-20250929": Decimal("8.715"), "claude-haiku-4-5-20251001": Decimal("4.5")}
    default = focus(out, "SkuId LIKE 'claude-sonnet%'")[0]
    assert (default["SubAccountId"], default["SubAccountName"], default["SubAccountType"]) == \
           ("default", "Default Workspace", "Workspace")


# --- Invoices -------------------------------------------------------------------------------

def test_invoices_many_vendors_and_currencies_conserve(tmp_path):
    path = gen_invoices.generate(tmp_path / "invoices.csv", period=PERIOD, seed=5)
    want = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            key = (row["invoice_date"][:7], row["currency"])
            want[key] = want.get(key, Decimal(0)) + Decimal(row["amount"])
    out = tmp_path / "focus"
    normalize("invoices", [path], out)
    assert_cents(billed_by(out), want)
    assert set(want) == {(PERIOD, "USD"), (PERIOD, "EUR")}
    rows = focus(out)
    assert {r["ProviderName"] for r in rows} == {"GitHub", "Anysphere", "OpenAI", "Perplexity AI", "Mistral AI"}
    assert all(r["PublisherName"] == r["InvoiceIssuerName"] == r["ProviderName"] for r in rows)
    copilot = [r for r in rows if r["ServiceName"] == "GitHub Copilot Business" and r["ChargeCategory"] == "Purchase"]
    assert copilot and all(r["PricingUnit"] == "Seats" and r["ChargeFrequency"] == "Recurring" for r in copilot)
    assert {r["ChargeCategory"] for r in rows} == {"Purchase", "Usage", "Tax", "Credit"}
    assert_official(out)


# --- Bad input ------------------------------------------------------------------------------

def _good_cost_item():
    return {"object": "organization.costs.result", "amount": {"value": 1.25, "currency": "usd"},
            "line_item": "gpt-4o-mini-2024-07-18, input", "project_id": "proj_a"}


def _openai_costs(*items):
    return {"object": "page", "data": [{"object": "bucket", "start_time": OCT_14, "end_time": OCT_14 + DAY,
                                        "results": list(items)}]}


def bad_cases(tmp: Path) -> dict[str, tuple[str, Path, str]]:
    """case -> (source, delivery written under tmp, expected text of the one error line)."""
    cases = {}
    p = tmp / "malformed" / "costs_p01.json"
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps(_openai_costs(_good_cost_item()))[:-7])
    cases["malformed JSON"] = ("openai", p, "costs_p01.json: not valid JSON (line 1, column")
    missing = _openai_costs(_good_cost_item(), {**_good_cost_item(), "amount": {"currency": "usd"}})
    cases["missing field"] = ("openai", write(tmp / "missing" / "costs_p01.json", missing),
                              "costs_p01.json, row data[0].results[1], column amount.value: missing field")
    nonnum = _openai_costs(_good_cost_item(), {**_good_cost_item(), "amount": {"value": "12,50", "currency": "usd"}})
    cases["non-numeric amount"] = ("openai", write(tmp / "nonnum" / "costs_p01.json", nonnum),
                                   "costs_p01.json, row data[0].results[1], column amount.value: value '12,50' is not a number")
    anth = {"data": [{"starting_at": "2026-10-03T00:00:00Z", "ending_at": "2026-10-04T00:00:00Z", "results": [
        {"currency": "USD", "amount": "10", "cost_type": "tokens"}, {"currency": "XYZ", "amount": "10"}]}]}
    cases["unknown currency"] = ("anthropic", write(tmp / "currency" / "cost_report_p01.json", anth),
                                 "cost_report_p01.json, row data[0].results[1], column currency: unknown currency code 'XYZ'")
    inv = tmp / "inv" / "invoices.csv"
    inv.parent.mkdir()
    inv.write_text("vendor,invoice_id,invoice_date,description,amount,currency\n"
                   "GitHub,G-1,2026-10-01,Copilot seats,190.00,USD\nCursor,C-1,2026-10-02,seats,forty,USD\n")
    cases["invoice non-numeric amount"] = ("invoices", inv, "invoices.csv, row 2, column amount: value 'forty' is not a number")
    return cases


@pytest.mark.parametrize("case", ["malformed JSON", "missing field", "non-numeric amount", "unknown currency",
                                  "invoice non-numeric amount"])
def test_bad_input_one_clear_line(tmp_path, case):
    source, path, expected = bad_cases(tmp_path)[case]
    result = CliRunner().invoke(main, ["normalize", source, str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not list((tmp_path / "out").rglob("*.parquet"))


def snapshot(data: Path) -> dict:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    tables = {name: con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
              for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    con.close()
    return {"tables": tables, "files": {str(p.relative_to(data)): p.read_bytes()
                                        for p in published_files(data / "focus")}}


def run(data: Path):
    return CliRunner().invoke(main, ["run", "--data", str(data), "--period", PERIOD], catch_exceptions=False)


@pytest.mark.parametrize("case", ["malformed JSON", "unknown currency", "invoice non-numeric amount", "unpriced usage"])
def test_pipeline_quarantines_bad_delivery_and_keeps_last_good(tmp_path, case):
    data = tmp_path / "data"
    gen_openai.generate(data / "inbox" / "openai" / "2026-10-a", period=PERIOD, seed=1)
    gen_anthropic.generate(data / "inbox" / "anthropic" / "2026-10-a", period=PERIOD, seed=1)
    gen_invoices.generate(data / "inbox" / "invoices" / "invoices-2026-10.csv", period=PERIOD, seed=1)
    first = run(data)
    assert first.exit_code == 0, first.output
    for s in ("openai", "anthropic", "invoices"):
        assert f"{PERIOD} {s}: published" in first.output
    before = snapshot(data)
    if case == "unpriced usage":  # lands (the JSON is fine), fails in normalizing: no price, no cost export
        source, name = "openai", "zz-usage.json"
        page = openai_usage_page((OCT_14, [{"model": "gpt-9-secret", "input_tokens": 5, "output_tokens": 1}]))
        write(data / "inbox" / source / "zz" / name, page)
        expected = "zz-usage.json, row 1, column model: no rate-card price for model 'gpt-9-secret'"
    else:
        source, path, expected = bad_cases(tmp_path / "bad")[case]
        name = "zz-" + path.name
        target = data / "inbox" / source / (name if source == "invoices" else "zz")
        if source != "invoices":
            target.mkdir(parents=True)
            target = target / name
        shutil.copy(path, target)
        expected = expected.replace(path.name, name, 1)
    result = run(data)
    assert result.exit_code != 0
    errors = [l for l in result.stderr.splitlines() if l.startswith("aispend: error:")]
    assert len(errors) == 1 and expected in errors[0], result.stderr
    quarantined = data / "quarantine" / source / name
    assert quarantined.exists() and quarantined.with_name(name + ".reason.json").exists()
    assert snapshot(data) == before
    again = run(data)
    assert again.exit_code == 0 and snapshot(data) == before


def test_each_period_decides_alone_and_pages_may_be_saved_as_a_list(tmp_path):
    """Usage on Sep 30 and Oct 1; a cost export only for October (one file holding a list of
    two pages). September's usage is billed at rate-card prices, October's comes from the cost
    export alone, and the delivery totals the conservation check uses say the same."""
    from normalizers import openai as source
    from normalizers.normalize import connect
    sep_30, oct_1 = 1790726400, 1790812800
    use = {"model": "gpt-4o-mini-2024-07-18", "input_tokens": 1_000_000, "input_cached_tokens": 0,
           "output_tokens": 1_000_000}  # 0.15 + 0.60 = 0.75 at the 1970 price
    usage = write(tmp_path / "usage.json", openai_usage_page((sep_30, [use]), (oct_1, [use])))
    page = _openai_costs(_good_cost_item(), {**_good_cost_item(), "amount": {"value": "0.10", "currency": "usd"}})
    page["data"][0].update(start_time=oct_1, end_time=oct_1 + DAY)
    costs = write(tmp_path / "costs.json", [page, _openai_costs({**_good_cost_item(), "line_item": "Tax",
                                                                 "amount": {"value": 0.2, "currency": "usd"}})])
    out = tmp_path / "focus"
    result = normalize("openai", [costs, usage], out)
    assert sorted(result.partitions) == ["2026-09", "2026-10"]
    want = {("2026-09", "USD"): Decimal("0.75"), ("2026-10", "USD"): Decimal("1.25") + Decimal("0.10") + Decimal("0.2")}
    assert_cents(billed_by(out), want)
    mappings = [source.FileMapping(p) for p in (costs, usage)]
    totals = {(p, c): t for p, c, t in connect().execute(source.delivery_totals_sql(mappings)).fetchall()}
    assert_cents(totals, want)
    assert {r["ChargeCategory"] for r in focus(out, "ChargeDescription = 'Tax'")} == {"Tax"}
    assert {r["x_ChargeType"] for r in focus(out, "month(ChargePeriodStart) = 10 AND ConsumedQuantity > 0")} == {"usage-covered"}
    assert_official(out)
