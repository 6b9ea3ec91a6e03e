"""The Azure Cost Management mapping on the real-format samples (EA and MCA, actual and amortized,
camelCase and PascalCase, old and new column sets) and on generated exports: BilledCost is
conserved to the cent against totals computed here from the raw CSV (plain csv + Decimal, not
aispend's code), EffectiveCost follows the amortized data, the FOCUS contract holds on every row,
the FinOps Foundation's validator passes, and bad input names file, row and column."""
from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from normalizers import checks
from normalizers.azure_cost import CHARGE_TYPES
from normalizers.conformance import run_validator
from normalizers.errors import BadInputError
from normalizers.normalize import normalize
from normalizers.pandera_schema import validate_parquet

from conftest import SHARED, assert_official, assert_totals

CENT = Decimal("0.01")
AZURE = SHARED / "samples" / "azure"
SAMPLES = sorted(AZURE.glob("*.csv")) if AZURE.exists() else []
# koku's fixture writes the billing currency as 'MC', which is no ISO 4217 code: bad input.
BAD_CURRENCY_SAMPLE = "koku__azure_version_2.csv"
GOOD_SAMPLES = [p for p in SAMPLES if p.name != BAD_CURRENCY_SAMPLE]
EA_ACTUAL, EA_AMORTIZED = AZURE / "finops-toolkit__EA_ActualCost_Small.csv", AZURE / "finops-toolkit__EA_AmortizedCost_Small.csv"

# ---- an independent reading of an Azure export ------------------------------------------------
# Which header names mean what, as Azure's exports spell them (any case).
NAMES = {
    "cost": ("costinbillingcurrency", "cost", "pretaxcost"),
    "currency": ("billingcurrency", "billingcurrencycode", "currency"),
    "date": ("date", "usagedatetime"),
    "period": ("billingperiodstartdate",),
    "charge_type": ("chargetype",),
    "pricing_model": ("pricingmodel",),
    "benefit": ("benefitid", "reservationid"),
}


def rows_of(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader)]
        out = []
        for raw in reader:
            row = dict(zip(header, raw))
            out.append({k: next((row[n] for n in names if row.get(n, "") != ""), "") for k, names in NAMES.items()})
        return out


def month(text: str) -> str:
    """'09/01/2023', '9/2/2023' or '2019-07-29' -> '2023-09'."""
    if "/" in text:
        m, _, y = text.split(" ")[0].split("/")
        return f"{int(y):04d}-{int(m):02d}"
    return text[:7]


def is_commitment_usage(r: dict) -> bool:
    """Usage covered by a reservation or savings plan, or a commitment's unused part."""
    kind = r["charge_type"] or "Usage"
    return kind in ("UnusedReservation", "UnusedSavingsPlan") or (
        kind == "Usage" and r["pricing_model"] in ("Reservation", "SavingsPlan"))


def is_commitment_purchase(r: dict) -> bool:
    return r["charge_type"] in ("Purchase", "Refund") and r["benefit"] != ""


def is_amortized(path: Path) -> bool:
    """Amortized data prices commitment usage (actual data gives it cost 0) and has Unused rows."""
    return any(is_commitment_usage(r) and Decimal(r["cost"]) != 0 for r in rows_of(path))


def expected(path: Path, keep=lambda r: True) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """Per (billing period, currency): (billed, effective) from the raw columns.
    Billed: every row's cost, except commitment usage and Unused rows (billed by the purchase;
    in actual-cost data they cost 0 anyway). Effective: every row's cost, except commitment
    purchases and refunds (amortized into usage)."""
    out: dict = {}
    for r in rows_of(path):
        if not keep(r):
            continue
        cost = Decimal(r["cost"])
        key = (month(r["period"] or r["date"]), r["currency"])
        b, e = out.get(key, (Decimal(0), Decimal(0)))
        out[key] = (b + (0 if is_commitment_usage(r) else cost), e + (0 if is_commitment_purchase(r) else cost))
    return out


def add(*totals):
    out: dict = {}
    for t in totals:
        for k, (b, e) in t.items():
            ob, oe = out.get(k, (Decimal(0), Decimal(0)))
            out[k] = (ob + b, oe + e)
    return out


def assert_conserved(want: dict, out: Path):
    assert_totals(want, out)


def assert_contract(out: Path):
    parts = list(out.rglob("*.parquet"))
    assert parts
    for part in parts:
        assert checks.check_parquet(duckdb.connect(), str(part)) == []
        assert validate_parquet(part) > 0


def q(out: Path, sql: str) -> list[tuple]:
    return duckdb.sql(sql.replace(" FROM T", f" FROM read_parquet('{out}/*/*.parquet')", 1)).fetchall()


def fixed_currency_copy(tmp_path: Path) -> Path:
    """koku's version-2 sample with its scrubbed currency 'MC' put back to a real code."""
    text = (AZURE / BAD_CURRENCY_SAMPLE).read_text(encoding="utf-8-sig").replace(",MC,", ",USD,")
    out = tmp_path / "koku_version_2_usd.csv"
    out.write_text(text, encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def azure_generated(tmp_path_factory):
    """One synthetic export per account type and dataset (the actual and amortized exports of an
    account describe the same charges), and Azure's FOCUS export of the MCA month."""
    from pipelines.generators.azure_cost import FORMATS, generate
    base = tmp_path_factory.mktemp("azure")
    return {fmt: generate(base / f"{fmt}.csv", 6000, "2026-10", seed=11, fmt=fmt) for fmt in FORMATS}


# ---- samples ----------------------------------------------------------------------------------

def test_shared_samples_are_present():
    assert len(SAMPLES) >= 6, "../shared/samples/azure is expected beside the project"


def test_independent_reading_is_not_vacuous():
    """The test's own expectation must see commitments: the amortized sample has priced
    reservation and savings plan usage (billed 0), the actual sample a reservation purchase."""
    assert is_amortized(EA_AMORTIZED) and not is_amortized(EA_ACTUAL)
    amortized = expected(EA_AMORTIZED)[("2023-09", "USD")]
    assert amortized[0] < amortized[1]  # covered usage: effective, not billed
    actual = expected(EA_ACTUAL)[("2023-09", "USD")]
    assert actual[0] - actual[1] == Decimal("3.25")  # the purchase: billed, not effective


@pytest.mark.parametrize("sample", GOOD_SAMPLES, ids=lambda p: p.name)
def test_samples_normalize_and_conserve(sample, tmp_path):
    result = normalize("azure-cost", [sample], tmp_path)
    assert result.rows == len(rows_of(sample))
    assert_conserved(expected(sample), tmp_path)
    assert_contract(tmp_path)


def test_sample_with_unknown_currency_is_bad_input(tmp_path):
    with pytest.raises(BadInputError) as err:
        normalize("azure-cost", [AZURE / BAD_CURRENCY_SAMPLE], tmp_path)
    assert (err.value.file, err.value.row, err.value.column) == (BAD_CURRENCY_SAMPLE, 1, "BillingCurrencyCode")
    assert "'MC'" in err.value.message


def test_sample_with_currency_fixed_normalizes(tmp_path):
    """The rest of that file (units '10 Hours', '1 /Month', '100000000', '0 Unassigned', a
    Marketplace purchase, no PricingModel) maps."""
    fixed = fixed_currency_copy(tmp_path)
    normalize("azure-cost", [fixed], tmp_path / "out")
    assert_conserved(expected(fixed), tmp_path / "out")
    assert_contract(tmp_path / "out")
    units = dict(q(tmp_path / "out", "SELECT x_SourceRow, PricingUnit FROM T"))
    assert units == {1: "Months", 2: "Units", 3: "10 Hours", 4: "100000000 Units", 5: "10 Hours"}
    assert q(tmp_path / "out", "SELECT PublisherName, BilledCost FROM T WHERE x_SourceRow = 2") == [
        ("OpenShift on Azure testing", 0)]


def test_actual_and_amortized_samples_together(tmp_path):
    """Amortized rows plus the actual file's commitment purchases; nothing else of the actual file."""
    normalize("azure-cost", [EA_ACTUAL, EA_AMORTIZED], tmp_path)
    want = add(expected(EA_AMORTIZED, lambda r: not is_commitment_purchase(r)),
               expected(EA_ACTUAL, is_commitment_purchase))
    assert_conserved(want, tmp_path)
    assert_contract(tmp_path)
    assert q(tmp_path, "SELECT x_SourceFile, count(*) FROM T GROUP BY ALL ORDER BY 1") == [
        (EA_ACTUAL.name, 1), (EA_AMORTIZED.name, 28)]


def test_sample_mapping_details(tmp_path):
    normalize("azure-cost", [EA_AMORTIZED], tmp_path)
    ri, sp = q(tmp_path, "SELECT BilledCost, EffectiveCost, PricingCategory, CommitmentDiscountCategory, "
                         "CommitmentDiscountStatus, CommitmentDiscountType, ListUnitPrice FROM T "
                         "WHERE CommitmentDiscountId IS NOT NULL ORDER BY CommitmentDiscountCategory DESC")
    assert ri == (0, Decimal("0.493152"), "Committed", "Usage", "Used", "Reservation", Decimal("0.146"))
    assert sp[:6] == (0, Decimal("0.006000000468"), "Committed", "Spend", "Used", "Savings Plan")
    # Billing period end exclusive: Azure's 09/30/2023 is the last day.
    assert q(tmp_path, "SELECT DISTINCT BillingPeriodStart, BillingPeriodEnd FROM T") == [
        (dt.datetime(2023, 9, 1, tzinfo=dt.timezone.utc), dt.datetime(2023, 10, 1, tzinfo=dt.timezone.utc))]
    # Brace-less tags become a JSON object.
    tags = json.loads(q(tmp_path, "SELECT Tags FROM T WHERE x_SourceRow = 1")[0][0])
    assert tags["env"] == "prod" and tags["aks-managed-poolName"] == "agentpool"
    units = {u for (u,) in q(tmp_path, "SELECT DISTINCT PricingUnit FROM T")}
    assert units == {"Hours", "10000 Units", "Months", "GB-Months", "GB", "Days"}
    services = dict(q(tmp_path, "SELECT DISTINCT ServiceName, ServiceCategory FROM T"))
    assert services["Azure Machine Learning"] == "AI and Machine Learning"
    assert services["Key Vault"] == "Security"  # ConsumedService 'MICROSOFT.KEYVAULT': any case


def test_old_camel_case_export_without_billing_period(tmp_path):
    """koku's oldest format: preTaxCost, usageDateTime, subscriptionGuid, no billing columns."""
    normalize("azure-cost", [AZURE / "koku__azure_camelCased.csv"], tmp_path)
    rows = q(tmp_path, "SELECT DISTINCT BillingAccountId, SubAccountId, BillingPeriodStart, BillingPeriodEnd, "
                       "ChargeCategory, PricingCategory FROM T")
    assert rows == [("2639de71-ca37-4a17-a104-17665a50e7fc", "2639de71-ca37-4a17-a104-17665a50e7fc",
                     dt.datetime(2019, 7, 1, tzinfo=dt.timezone.utc), dt.datetime(2019, 8, 1, tzinfo=dt.timezone.utc),
                     "Usage", "Standard")]


@pytest.mark.parametrize("sample", GOOD_SAMPLES, ids=lambda p: p.name)
def test_module_source_totals_and_period_match_the_raw_file(sample):
    """What the pipeline's conservation check and landing read from the module."""
    from normalizers import azure_cost
    from normalizers.normalize import connect
    con, mapping = connect(), azure_cost.FileMapping(sample)
    got = {(p, c): t for p, c, t in con.execute(azure_cost.source_totals_sql(mapping)).fetchall()}
    want = expected(sample)
    assert {k: v.quantize(CENT) for k, v in got.items()} == {k: b.quantize(CENT) for k, (b, _) in want.items()}
    assert azure_cost.billing_periods(mapping, con) == [p for p, _ in want]


# ---- generated exports ------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["ea-actual", "ea-amortized", "mca-actual", "mca-amortized"])
def test_generated_conserves_money(azure_generated, fmt, tmp_path):
    normalize("azure-cost", [azure_generated[fmt]], tmp_path)
    assert_conserved(expected(azure_generated[fmt]), tmp_path)
    assert_contract(tmp_path)
    assert is_amortized(azure_generated[fmt]) == fmt.endswith("amortized")


@pytest.mark.parametrize("account", ["ea", "mca"])
def test_generated_actual_and_amortized_together(azure_generated, account, tmp_path):
    """The month's FOCUS data bills what the actual-cost export bills (the invoice) and its
    EffectiveCost is the amortized-cost export's total: no purchase counted twice or lost."""
    actual, amortized = azure_generated[f"{account}-actual"], azure_generated[f"{account}-amortized"]
    normalize("azure-cost", [actual, amortized], tmp_path)
    invoice = {k: sum(Decimal(r["cost"]) for r in rows_of(actual) if (month(r["period"]), r["currency"]) == k)
               for k in expected(actual)}
    amortized_total = {k: sum(Decimal(r["cost"]) for r in rows_of(amortized)) for k in invoice}
    assert_conserved({k: (invoice[k], amortized_total[k]) for k in invoice}, tmp_path)
    from normalizers import azure_cost
    sql = azure_cost.delivery_totals_sql([azure_cost.FileMapping(actual), azure_cost.FileMapping(amortized)])
    assert {(p, c): t.quantize(CENT) for p, c, t in duckdb.sql(sql).fetchall()} == {
        k: v.quantize(CENT) for k, v in invoice.items()}
    assert_contract(tmp_path)
    seen = {t for (t,) in q(tmp_path, "SELECT DISTINCT x_ChargeType FROM T")}
    assert seen == set(CHARGE_TYPES) if account == "mca" else seen == set(CHARGE_TYPES) - {"Tax", "RoundingAdjustment"}


def test_generated_commitments_in_focus_form(azure_generated, tmp_path):
    normalize("azure-cost", [azure_generated["mca-actual"], azure_generated["mca-amortized"]], tmp_path)
    rows = set(q(tmp_path, "SELECT x_ChargeType, ChargeCategory, ChargeClass, PricingCategory, CommitmentDiscountCategory, "
                           "CommitmentDiscountStatus, BilledCost = 0, EffectiveCost = 0 FROM T "
                           "WHERE CommitmentDiscountId IS NOT NULL"))
    assert rows == {
        ("Purchase", "Purchase", None, "Committed", "Usage", None, False, True),
        ("Purchase", "Purchase", None, "Committed", "Spend", None, False, True),
        ("Refund", "Purchase", "Correction", "Committed", "Usage", None, False, True),
        ("Usage", "Usage", None, "Committed", "Usage", "Used", True, False),
        ("Usage", "Usage", None, "Committed", "Spend", "Used", True, False),
        ("UnusedReservation", "Usage", None, "Committed", "Usage", "Unused", True, False),
        ("UnusedSavingsPlan", "Usage", None, "Committed", "Spend", "Unused", True, False),
    }
    assert q(tmp_path, "SELECT DISTINCT PricingCategory FROM T WHERE x_ChargeType = 'Usage' AND CommitmentDiscountId IS NULL "
                       "ORDER BY 1") == [("Dynamic",), ("Standard",)]
    assert q(tmp_path, "SELECT DISTINCT ChargeCategory, PricingQuantity, PricingUnit, PricingCategory, SkuId FROM T "
                       "WHERE x_ChargeType = 'Tax'") == [("Tax", None, None, None, None)]
    assert q(tmp_path, "SELECT DISTINCT ChargeCategory FROM T WHERE x_ChargeType = 'RoundingAdjustment'") == [("Adjustment",)]


def test_generated_ai_services_units_and_tags(azure_generated, tmp_path):
    normalize("azure-cost", [azure_generated["ea-amortized"]], tmp_path)
    services = set(q(tmp_path, "SELECT DISTINCT ServiceName, ServiceCategory, ServiceSubcategory FROM T"))
    assert {("Azure OpenAI", "AI and Machine Learning", "Generative AI"),
            ("Azure Machine Learning", "AI and Machine Learning", "Machine Learning"),
            ("Virtual Machines", "Compute", "Virtual Machines")} <= services
    assert all(name.isascii() for name, _, _ in services)
    gpus = {t for (t,) in q(tmp_path, "SELECT DISTINCT x_InstanceType FROM T WHERE x_InstanceType IS NOT NULL")}
    assert {"Standard_ND96isr_H100_v5", "Standard_NC24ads_A100_v4"} <= gpus
    units = dict(q(tmp_path, "SELECT DISTINCT SkuMeter, PricingUnit FROM T WHERE SkuMeter IN "
                             "('gpt-4o-0806-Inp-glbl Tokens', 'text-embedding-3-large Tokens', 'ND96isr H100 v5', "
                             "'Hot LRS Data Stored', 'P30 LRS Disk', 'Hot LRS Write Operations')"))
    assert units == {"gpt-4o-0806-Inp-glbl Tokens": "1000 Units", "text-embedding-3-large Tokens": "1000000 Units",
                     "ND96isr H100 v5": "Hours", "Hot LRS Data Stored": "GB-Months", "P30 LRS Disk": "Months",
                     "Hot LRS Write Operations": "10000 Units"}
    keys = {k for (k,) in q(tmp_path, "SELECT DISTINCT unnest(json_keys(Tags)) FROM T WHERE Tags IS NOT NULL")}
    assert {"team", "Team", "owner-team", "project", "gpu-cluster", "env"} <= keys
    # the EA export writes tags with and without braces; both parse
    with open(azure_generated["ea-amortized"], newline="") as fh:
        tags = [row["Tags"] for row in csv.DictReader(fh) if row["Tags"]]
    assert any(t.startswith("{") for t in tags) and any(not t.startswith("{") for t in tags)
    assert q(tmp_path, "SELECT count(*) FROM T WHERE Tags IS NOT NULL") == [(len(tags),)]


def test_headers_are_case_insensitive(azure_generated, tmp_path):
    src = azure_generated["ea-actual"]
    lines = src.read_text().split("\n", 1)
    upper = tmp_path / "upper.csv"
    upper.write_text(lines[0].upper() + "\n" + lines[1])
    normalize("azure-cost", [upper], tmp_path / "out")
    assert_conserved(expected(src), tmp_path / "out")


# ---- Azure's own FOCUS export ------------------------------------------------------------------

def focus_export_totals(path: Path) -> dict:
    out: dict = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            key = (r["BillingPeriodStart"][:7], r["BillingCurrency"])
            b, e = out.get(key, (Decimal(0), Decimal(0)))
            out[key] = (b + Decimal(r["BilledCost"]), e + Decimal(r["EffectiveCost"]))
    return out


def test_focus_export_reads_as_it_is(azure_generated, tmp_path):
    src = azure_generated["focus"]
    normalize("azure-cost", [src], tmp_path)
    assert_conserved(focus_export_totals(src), tmp_path)
    assert_contract(tmp_path)
    # the same month as the MCA actual + amortized exports it was made from
    invoice = sum(Decimal(r["cost"]) for r in rows_of(azure_generated["mca-actual"]))
    assert q(tmp_path, "SELECT sum(BilledCost) FROM T")[0][0].quantize(CENT) == invoice.quantize(CENT)
    lower = tmp_path / "lower.csv"
    head, body = src.read_text().split("\n", 1)
    lower.write_text(head.lower() + "\n" + body)
    normalize("azure-cost", [lower], tmp_path / "lower")
    assert_conserved(focus_export_totals(src), tmp_path / "lower")


def test_focus_export_and_cost_exports_do_not_mix(azure_generated, tmp_path):
    with pytest.raises(BadInputError, match="mixes"):
        normalize("azure-cost", [azure_generated["focus"], azure_generated["mca-actual"]], tmp_path)


# ---- bad input --------------------------------------------------------------------------------

def _edit(src: Path, dst: Path, row: int, column: str, value: str | None) -> Path:
    """Copy an export, setting one cell (data row `row`, 1-based) or dropping a column (value None)."""
    with open(src, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    i = rows[0].index(column)
    if value is None:
        rows = [r[:i] + r[i + 1:] for r in rows]
    else:
        rows[row][i] = value
    with open(dst, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return dst


@pytest.mark.parametrize("fmt, column, value, message", [
    ("ea-actual", "CostInBillingCurrency", "1.2.3", "is not a number"),
    ("mca-amortized", "costInBillingCurrency", "twelve", "is not a number"),
    ("ea-actual", "BillingCurrency", "EURO", "unknown currency code 'EURO'"),
    ("mca-actual", "date", "2026-13-45", "is not a date"),
    ("ea-amortized", "ChargeType", "Bonus", "unknown charge type 'Bonus'"),
    ("mca-actual", "tags", "{not json", "not a JSON object"),
    ("focus", "BilledCost", "12,5", "is not a number"),
    ("focus", "BillingCurrency", "XBT", "unknown currency code 'XBT'"),
    ("focus", "ChargePeriodStart", "yesterday", "is not a date"),
    ("focus", "Tags", "team=ml", "not a JSON object"),
])
def test_bad_value_names_file_row_and_column(azure_generated, tmp_path, fmt, column, value, message):
    bad = _edit(azure_generated[fmt], tmp_path / f"{fmt}.csv", 1234, column, value)
    with pytest.raises(BadInputError) as err:
        normalize("azure-cost", [bad], tmp_path / "out")
    assert (err.value.file, err.value.row, err.value.column) == (bad.name, 1234, column)
    assert message in err.value.message


@pytest.mark.parametrize("cell, tags", [
    ('"env": "prod","team": "ml"', {"env": "prod", "team": "ml"}),  # EA: no braces
    ('{ "env" : "prod" ,"n": 1 }', {"env": "prod", "n": 1}),  # spaced: kept as written, still JSON
    ('{"k": "été \\"quoted\\""}', {"k": 'été "quoted"'}),
    ("{}", None), ("{ }", None), ("  ", None), ("", None),  # no tags
])
def test_tag_cells(azure_generated, tmp_path, cell, tags):
    edited = _edit(azure_generated["mca-actual"], tmp_path / "tags.csv", 7, "tags", cell)
    normalize("azure-cost", [edited], tmp_path / "out")
    (got,) = q(tmp_path / "out", "SELECT Tags FROM T WHERE x_SourceRow = 7")[0]
    assert (json.loads(got) if got is not None else None) == tags


@pytest.mark.parametrize("column", ["CostInBillingCurrency", "BillingCurrency", "Date"])
def test_missing_required_column(azure_generated, tmp_path, column):
    bad = _edit(azure_generated["ea-actual"], tmp_path / "missing.csv", 0, column, None)
    with pytest.raises(BadInputError) as err:
        normalize("azure-cost", [bad], tmp_path / "out")
    assert (err.value.file, err.value.row, err.value.column) == ("missing.csv", None, column)


# ---- the official validator -------------------------------------------------------------------

def _official(tmp_path: Path, inputs: list[Path]):
    normalize("azure-cost", inputs, tmp_path)
    assert_official(tmp_path)


@pytest.mark.official
@pytest.mark.parametrize("sample", GOOD_SAMPLES, ids=lambda p: p.name)
def test_samples_pass_official_validator(sample, tmp_path):
    _official(tmp_path, [sample])


@pytest.mark.official
def test_fixed_currency_sample_passes_official_validator(tmp_path):
    _official(tmp_path / "out", [fixed_currency_copy(tmp_path)])


@pytest.mark.official
@pytest.mark.parametrize("account", ["ea", "mca"])
def test_generated_passes_official_validator(azure_generated, account, tmp_path):
    _official(tmp_path, [azure_generated[f"{account}-actual"], azure_generated[f"{account}-amortized"]])


@pytest.mark.official
def test_focus_export_passes_official_validator(azure_generated, tmp_path):
    _official(tmp_path, [azure_generated["focus"]])


@pytest.mark.official
def test_official_validator_catches_a_broken_azure_file(azure_generated, tmp_path):
    normalize("azure-cost", [azure_generated["mca-amortized"]], tmp_path / "ok")
    src = next((tmp_path / "ok").rglob("*.parquet"))
    bad = tmp_path / "bad.parquet"
    duckdb.sql(f"COPY (SELECT * REPLACE ('Spending' AS ChargeCategory) FROM '{src}') TO '{bad}' (FORMAT parquet)")
    assert any(rule.startswith("ChargeCategory") for rule in run_validator(bad).failed)


def test_mca_pricing_currency_columns_and_ea_defaults(azure_generated, tmp_path):
    """MCA prices in USD and bills in GBP: the pricing-currency columns hold its prices as written
    and costInPricingCurrency (0 on commitment purchases, as EffectiveCost); the billing-currency
    prices are those times exchangeRatePricingToBilling. EA prices in its billing currency, which
    the pricing-currency columns repeat."""
    src = azure_generated["mca-amortized"]
    normalize("azure-cost", [src], tmp_path / "mca")
    with open(src, newline="", encoding="utf-8-sig") as fh:
        raw = [{k.lower(): v for k, v in r.items()} for r in csv.DictReader(fh)]
    out = {r[0]: r[1:] for r in q(tmp_path / "mca", "SELECT x_SourceRow, BillingCurrency, PricingCurrency, "
                                  "PricingCurrencyEffectiveCost, EffectiveCost, PricingCurrencyContractedUnitPrice, "
                                  "ContractedUnitPrice, PricingCurrencyListUnitPrice, ListUnitPrice FROM T")}
    checked_prices = 0
    for row, (billing, pricing, pricing_effective, effective, pricing_unit, unit, pricing_list, list_) in out.items():
        src_row, rate = raw[row - 1], Decimal(raw[row - 1]["exchangeratepricingtobilling"])
        assert (billing, pricing) == (src_row["billingcurrency"], src_row["pricingcurrency"]) == ("GBP", "USD")
        purchase = src_row["chargetype"] in ("Purchase", "Refund") and (src_row["benefitid"] or src_row["reservationid"])
        assert pricing_effective == (0 if purchase else Decimal(src_row["costinpricingcurrency"])), f"row {row}"
        if pricing_unit is not None:
            assert pricing_unit == Decimal(src_row["unitprice"] or src_row["effectiveprice"]), f"row {row}"
            assert unit == (pricing_unit * rate).quantize(Decimal("1e-12")), f"row {row}"
            assert list_ == (pricing_list * rate).quantize(Decimal("1e-12")), f"row {row}"
            checked_prices += 1
    assert checked_prices > 1000 and any(v[2] == 0 for v in out.values())
    normalize("azure-cost", [azure_generated["ea-amortized"]], tmp_path / "ea")
    assert q(tmp_path / "ea", "SELECT count(*) FROM T WHERE PricingCurrency IS DISTINCT FROM BillingCurrency "
                              "OR PricingCurrencyEffectiveCost IS DISTINCT FROM EffectiveCost "
                              "OR PricingCurrencyContractedUnitPrice IS DISTINCT FROM ContractedUnitPrice "
                              "OR PricingCurrencyListUnitPrice IS DISTINCT FROM ListUnitPrice") == [(0,)]
