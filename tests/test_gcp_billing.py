"""The GCP billing export mapping on the shared real-format samples and on generated exports
(flattened CSV and BigQuery's nested Parquet): money is conserved to the cent (BilledCost = cost,
EffectiveCost = cost + credits), the FOCUS contract holds on every row, the official validator
finds nothing, and bad input is reported by file, row and column."""
from __future__ import annotations

import ast
import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from normalizers import checks
from normalizers.errors import BadInputError
from normalizers.gcp_billing import COST_TYPES
from normalizers.normalize import normalize
from normalizers.pandera_schema import validate_parquet

from conftest import SHARED, assert_official, assert_totals, focus_totals

GCP_SAMPLES = sorted((SHARED / "samples" / "gcp").glob("*.csv")) if SHARED.exists() else []
CENT = Decimal("0.01")


# --- an independent reading of the export (csv/json/ast/pyarrow, Decimal), no aispend code ---

def source_rows(path: Path) -> list[dict]:
    """Rows with dotted keys (`invoice.month`), whether the file is flat CSV or nested (Parquet,
    or JSON lines, whose numbers are read as written)."""
    if path.name.endswith((".parquet", ".json")):
        if path.name.endswith(".parquet"):
            nested = pq.read_table(path).to_pylist()
        else:
            with open(path, encoding="utf-8") as fh:
                nested = [json.loads(line, parse_float=Decimal) for line in fh]
        out = []
        for row in nested:
            flat = {}
            for k, v in row.items():
                if isinstance(v, dict):
                    flat.update({f"{k}.{m}": mv for m, mv in v.items()})
                else:
                    flat[k] = v
            out.append(flat)
        return out
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def as_list(value) -> list[dict]:
    """A repeated field: already a list (Parquet), JSON text, or a Python repr (the samples)."""
    if value in (None, ""):
        return []
    if isinstance(value, list):
        return value
    try:
        return json.loads(value, parse_float=Decimal)
    except json.JSONDecodeError:
        return ast.literal_eval(value)


def dec(value) -> Decimal:
    return Decimal(0) if value in (None, "") else Decimal(str(value))


def expected_totals(path: Path) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """Per (invoice month as YYYY-MM, currency): (sum of cost, sum of cost + credit amounts)."""
    out: dict = {}
    for row in source_rows(path):
        month = str(row["invoice.month"])
        key = (f"{month[:4]}-{month[4:]}", row["currency"])
        cost = dec(row["cost"])
        credits = sum((dec(c["amount"]) for c in as_list(row.get("credits"))), Decimal(0))
        b, e = out.get(key, (Decimal(0), Decimal(0)))
        out[key] = (b + cost, e + cost + credits)
    return out


def assert_conserved(source: Path, out: Path):
    assert_totals(expected_totals(source), out)


def q(out: Path, sql: str) -> list[tuple]:
    return duckdb.sql(sql.replace(" FROM T", f" FROM read_parquet('{out}/*/*.parquet')", 1)).fetchall()


@pytest.fixture(scope="module")
def gcp_generated(tmp_path_factory):
    from pipelines.generators.gcp_billing import generate
    base = tmp_path_factory.mktemp("gcp")
    return {fmt: generate(base / f"gcp.{fmt}", 20_000, "2026-10", seed=5, fmt=fmt) for fmt in ("csv", "parquet", "json")}


@pytest.fixture(scope="module")
def gcp_normalized(gcp_generated, tmp_path_factory):
    base = tmp_path_factory.mktemp("gcp-focus")
    for fmt, path in gcp_generated.items():
        normalize("gcp-billing", [path], base / fmt)
    return {fmt: base / fmt for fmt in gcp_generated}


# --- samples ---

def test_shared_samples_are_present():
    assert GCP_SAMPLES, "../shared/samples/gcp is expected beside the project (it is in CI)"


@pytest.mark.parametrize("sample", GCP_SAMPLES, ids=lambda p: p.name)
def test_samples_normalize_and_conserve(sample, tmp_path):
    result = normalize("gcp-billing", [sample], tmp_path)
    assert result.rows == len(source_rows(sample))
    assert_conserved(sample, tmp_path)
    for part in tmp_path.rglob("*.parquet"):
        assert checks.check_parquet(duckdb.connect(), str(part)) == []
        assert validate_parquet(part) > 0


def test_sample_mapping_details(tmp_path):
    sample = next(p for p in GCP_SAMPLES if "202011" in p.name)
    normalize("gcp-billing", [sample], tmp_path)
    rows = source_rows(sample)
    # every row by provenance: its own cost, credits, project, period and unit
    got = {r[0]: r[1:] for r in q(tmp_path, "SELECT x_SourceRow, BilledCost, EffectiveCost, SubAccountId, SubAccountName, "
                                            "BillingPeriodStart, BillingPeriodEnd, ChargePeriodStart, PricingUnit, "
                                            "ServiceName, SkuId, x_Credits, Tags FROM T")}
    assert sorted(got) == list(range(1, len(rows) + 1))
    for i, src in enumerate(rows, 1):
        billed, effective, project, name, bp_start, bp_end, cp_start, unit, service, sku, credits, tags = got[i]
        assert billed == dec(src["cost"])
        assert effective == dec(src["cost"]) + sum((dec(c["amount"]) for c in as_list(src["credits"])), Decimal(0))
        assert (project, name, service, sku) == (src["project.id"], src["project.name"], src["service.description"],
                                                 src["sku.id"])
        assert bp_start == dt.datetime(2020, 11, 1, tzinfo=dt.timezone.utc)
        assert bp_end == dt.datetime(2020, 12, 1, tzinfo=dt.timezone.utc)
        assert cp_start == dt.datetime.fromisoformat(src["usage_start_time"])
        assert unit == {"gibibyte": "GiB", "gibibyte month": "GiB-Months", "tebibyte": "TiB"}[src["usage.pricing_unit"]]
        assert (json.loads(credits) if credits else []) == [
            {"type": c["type"], "name": c["name"], "amount": float(c["amount"])} for c in as_list(src["credits"])]
        labels = {l["key"]: l["value"] for l in as_list(src["labels"])}
        assert (json.loads(tags) if tags else {}) == labels
    categories = dict(q(tmp_path, "SELECT DISTINCT ServiceName, ServiceCategory || ' / ' || ServiceSubcategory FROM T"))
    assert categories == {"BigQuery": "Databases / Data Warehouses",
                          "Security Command Center": "Security / Security Posture Management",
                          "Stackdriver Logging": "Management and Governance / Observability"}


# --- generated exports ---

@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_generated_export_conserves_money(gcp_generated, gcp_normalized, fmt):
    assert_conserved(gcp_generated[fmt], gcp_normalized[fmt])
    assert len(expected_totals(gcp_generated[fmt])) == 4  # two invoice months (late rows) x USD, EUR
    for part in gcp_normalized[fmt].rglob("*.parquet"):
        assert checks.check_parquet(duckdb.connect(), str(part)) == []
        assert validate_parquet(part) > 0


def test_csv_parquet_and_json_forms_give_the_same_focus_rows(gcp_normalized):
    """Same rows, row numbers included: a JSON export's x_SourceRow is its line."""
    cols = "* EXCLUDE (x_SourceFile)"
    a = q(gcp_normalized["csv"], f"SELECT {cols} FROM T ORDER BY x_SourceRow")
    b = q(gcp_normalized["parquet"], f"SELECT {cols} FROM T ORDER BY x_SourceRow")
    c = q(gcp_normalized["json"], f"SELECT {cols} FROM T ORDER BY x_SourceRow")
    assert len(a) == 20_000 and a == b == c


def test_json_lines_as_bigquery_writes_them(gcp_generated, tmp_path):
    """Fields BigQuery leaves out of a line (NULLs) read as NULL, fields the mapping does not use
    are skipped, gzip is read as it is, and a bad value names its line and field."""
    import gzip
    lines = gcp_generated["json"].read_text().splitlines()
    first = json.loads(lines[0])
    sparse = {k: v for k, v in first.items() if k not in ("labels", "resource", "seller_name", "cost_at_list")}
    sparse["a_field_of_tomorrow"] = {"x": 1}
    export = tmp_path / "export.json.gz"
    export.write_bytes(gzip.compress(("\n".join([json.dumps(sparse)] + lines[1:200]) + "\n").encode()))
    result = normalize("gcp-billing", [export], tmp_path / "out")
    assert result.rows == 200
    row = q(tmp_path / "out", "SELECT ListCost, BilledCost, ResourceId, x_SourceRow FROM T WHERE x_SourceRow = 1")
    assert row == [(dec(first["cost"]).quantize(Decimal("1e-12")),) * 2 + (None, 1)]
    bad = json.loads(lines[41]) | {"usage_start_time": "yesterday"}
    broken = tmp_path / "broken.json"
    broken.write_text("\n".join(lines[:41] + [json.dumps(bad)] + lines[42:60]) + "\n")
    with pytest.raises(BadInputError) as err:
        normalize("gcp-billing", [broken], tmp_path / "out2")
    assert (err.value.file, err.value.row, err.value.column) == ("broken.json", 42, "usage_start_time")
    # A line that is not JSON is named by its line, in the first block read or a later one
    # (pyarrow counts rows per block of 4 MB, ~2,000 lines here).
    for line in (7, 15_000):
        cut = tmp_path / f"cut-{line}.json"
        cut.write_text("\n".join(lines[:line - 1] + [lines[line - 1][:50]] + lines[line:]) + "\n")
        with pytest.raises(BadInputError) as err:
            normalize("gcp-billing", [cut], tmp_path / f"out-{line}")
        assert (err.value.file, err.value.row) == (cut.name, line) and "not a JSON object" in err.value.message
        assert not list((tmp_path / f"out-{line}").rglob("*.parquet"))  # nothing half-written


def test_one_delivery_of_csv_and_parquet_files(gcp_generated, tmp_path):
    result = normalize("gcp-billing", [gcp_generated["csv"], gcp_generated["parquet"]], tmp_path)
    assert result.rows == 40_000
    expected = {k: (b * 2, e * 2) for k, (b, e) in expected_totals(gcp_generated["csv"]).items()}
    actual = focus_totals(tmp_path)
    assert {k: (b.quantize(CENT), e.quantize(CENT)) for k, (b, e) in actual.items()} == {
        k: (b.quantize(CENT), e.quantize(CENT)) for k, (b, e) in expected.items()}


def test_generated_covers_cost_types_credits_and_services(gcp_normalized):
    out = gcp_normalized["csv"]
    kinds = dict(q(out, "SELECT x_ChargeType, list(DISTINCT ChargeCategory ORDER BY ChargeCategory) FROM T GROUP BY 1"))
    assert set(kinds) == set(COST_TYPES)
    assert kinds["regular"] == ["Usage"] and kinds["tax"] == ["Tax"] and kinds["rounding_error"] == ["Adjustment"]
    assert kinds["adjustment"] == ["Adjustment", "Credit"]  # goodwill credits are Credit, corrections Adjustment
    credit_types = {t for (t,) in q(out, "SELECT DISTINCT unnest(from_json(x_Credits, '[\"json\"]'))->>'type' FROM T")}
    assert credit_types == {"COMMITTED_USAGE_DISCOUNT", "SUSTAINED_USAGE_DISCOUNT", "PROMOTION", "FREE_TIER"}
    services = dict(q(out, "SELECT DISTINCT ServiceName, ServiceCategory || ' / ' || ServiceSubcategory FROM T"))
    assert services["Compute Engine"] == "Compute / Virtual Machines"
    assert services["Vertex AI"].startswith("AI and Machine Learning / ")
    assert services["BigQuery"] == "Databases / Data Warehouses"
    assert services["Cloud Storage"] == "Storage / Object Storage"
    assert services["Networking"].startswith("Networking / ")
    assert services["Invoice"] == "Other / Other (Other)"
    machines = {m for (m,) in q(out, "SELECT DISTINCT x_InstanceType FROM T WHERE x_InstanceType IS NOT NULL")}
    assert {"a2-highgpu-1g", "a3-highgpu-8g"} <= machines
    assert q(out, "SELECT DISTINCT PricingCategory FROM T WHERE ChargeDescription LIKE 'Spot Preemptible%'") == [("Dynamic",)]
    # FOCUS: price details need a price id, which the standard export has not; the machine stays in x_InstanceType
    assert q(out, "SELECT count(SkuPriceDetails), count(SkuPriceId) FROM T") == [(0, 0)]


def test_units_quantities_and_tax(gcp_normalized):
    out = gcp_normalized["csv"]
    units = {u for (u,) in q(out, "SELECT DISTINCT PricingUnit FROM T WHERE PricingUnit IS NOT NULL")}
    assert units == {"Hours", "GiB-Hours", "GiB", "Count", "TiB", "GiB-Months", "Requests"}
    consumed = {u for (u,) in q(out, "SELECT DISTINCT ConsumedUnit FROM T WHERE ConsumedUnit IS NOT NULL")}
    assert consumed == {"Seconds", "B-Seconds", "B", "Count", "Requests"}
    assert q(out, "SELECT count(*) FROM T WHERE ChargeCategory = 'Tax' AND PricingQuantity IS NOT NULL") == [(0,)]
    assert q(out, "SELECT count(*) FROM T WHERE PricingQuantity IS NOT NULL AND PricingUnit IS NULL") == [(0,)]
    # ListCost is cost_at_list (Gemini at a negotiated price), else cost
    assert q(out, "SELECT bool_and(ListCost > BilledCost) FROM T WHERE ChargeDescription LIKE 'Gemini%' "
                  "AND BilledCost > 0.01") == [(True,)]
    assert q(out, "SELECT count(*) FROM T WHERE ChargeCategory = 'Tax' AND ListCost <> BilledCost") == [(0,)]


def test_late_rows_go_to_their_invoice_month(gcp_generated, gcp_normalized):
    rows = source_rows(gcp_generated["csv"])
    late = [i for i, r in enumerate(rows, 1) if r["invoice.month"] == "202609"]
    assert late
    got = q(gcp_normalized["csv"], f"SELECT DISTINCT BillingPeriodStart, BillingPeriodEnd FROM T "
                                   f"WHERE x_SourceRow IN ({', '.join(map(str, late))})")
    utc = dt.timezone.utc
    assert got == [(dt.datetime(2026, 9, 1, tzinfo=utc), dt.datetime(2026, 10, 1, tzinfo=utc))]
    assert sorted(p.name for p in gcp_normalized["csv"].iterdir()) == ["billing_period=2026-09", "billing_period=2026-10"]
    # end exclusive: the first day of the next month (October has 31 days)
    periods = q(gcp_normalized["csv"], "SELECT DISTINCT BillingPeriodStart, BillingPeriodEnd FROM T ORDER BY 1")
    assert periods == [(dt.datetime(2026, 9, 1, tzinfo=utc), dt.datetime(2026, 10, 1, tzinfo=utc)),
                       (dt.datetime(2026, 10, 1, tzinfo=utc), dt.datetime(2026, 11, 1, tzinfo=utc))]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_tags_merge_labels_over_project_labels_and_namespace_resource_manager_tags(gcp_generated, gcp_normalized, fmt):
    """Parquet's Tags come from a lookup table of distinct list combinations, CSV's from the
    memo function over text cells: both checked against the source rows, row by row."""
    rows = source_rows(gcp_generated["csv"])
    tags = dict(q(gcp_normalized[fmt], "SELECT x_SourceRow, Tags FROM T"))
    clashes = namespaced = 0
    for i, src in enumerate(rows, 1):
        labels = {l["key"]: l["value"] for l in as_list(src["labels"])}
        project = {l["key"]: l["value"] for l in as_list(src["project.labels"])}
        rm_tags = {f"{t['namespace']}/{t['key']}": t["value"] for t in as_list(src["tags"])}
        expected = rm_tags | project | labels
        assert (json.loads(tags[i]) if tags[i] else {}) == expected, f"row {i}"
        clashes += any(k in project and project[k] != v for k, v in labels.items())
        namespaced += bool(rm_tags)
    assert clashes > 0  # the generated export does have resource labels overriding project labels
    assert namespaced > 0
    keys = {k for (k,) in q(gcp_normalized[fmt], "SELECT DISTINCT unnest(json_keys(Tags)) FROM T WHERE Tags IS NOT NULL")}
    assert {"team", "Team", "owner-team", "cost-center", "env", "123456789012/env", "ml-research-prod/cost-center"} <= keys


def test_json_and_python_literal_cells_in_one_file(tmp_path):
    """Repeated fields as JSON or as Python reprs (quotes inside values, None) read the same."""
    header = ("billing_account_id,service.description,sku.id,usage_start_time,usage_end_time,project.id,"
              "project.labels,labels,credits,cost,currency,invoice.month,cost_type,usage.amount,usage.unit,"
              "usage.amount_in_pricing_units,usage.pricing_unit")
    body = [
        ["A-1", "Vertex AI", "S1", "2026-10-01 00:00:00+00:00", "2026-10-01 01:00:00+00:00", "p1",
         '[{"key": "team", "value": "search"}]', "[{'key': 'owner', 'value': \"o'brien\"}, {'key': 'team', 'value': 'ads'}, {'key': 'team', 'value': 'x'}]",
         "[{'name': 'CUD', 'amount': -0.5, 'full_name': None, 'id': 'x', 'type': 'COMMITTED_USAGE_DISCOUNT'}, "
         "{'name': 'Promo', 'amount': -1.25e-1, 'full_name': None, 'id': 'y', 'type': 'PROMOTION'}]",
         "2.5", "USD", "202610", "regular", "3600", "seconds", "1", "hour"],
        ["A-1", "Vertex AI", "S1", "2026-10-01 00:00:00+00:00", "2026-10-01 01:00:00+00:00", "p1",
         "", '[{"key": "a,b", "value": "{x: [y]}"}]', '[{"name": "Free", "amount": -0.01, "type": "FREE_TIER"}]',
         "0.02", "USD", "202610", "", "1", "count", "1", "count"],
    ]
    src = tmp_path / "mixed.csv"
    with open(src, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header.split(","))
        w.writerows(body)
    normalize("gcp-billing", [src], tmp_path / "out")
    got = q(tmp_path / "out", "SELECT x_SourceRow, Tags, EffectiveCost, ChargeCategory FROM T ORDER BY 1")
    assert json.loads(got[0][1]) == {"owner": "o'brien", "team": "ads"}  # the resource label wins, first entry
    assert json.loads(got[1][1]) == {"a,b": "{x: [y]}"}
    assert [g[2] for g in got] == [Decimal("1.875"), Decimal("0.01")]
    assert [g[3] for g in got] == ["Usage", "Usage"]  # no cost_type: regular
    assert_conserved(src, tmp_path / "out")


LABEL_CELLS = [  # compact and spaced JSON (read by from_json), and cells the text cast reads
    '[{"key":"team","value":"ml"},{"key":"env","value":"prod"}]',
    '[ {"key": "a b ", "value": " {x},[y]:z "} , {"key": "e", "value": ""} ]',
    '[{"key":"owner","value":null},{"key":"été","value":"ü😀"}]',
    '[{"key":"n","value":"null"},{"key":"quote","value":"it\'s"}]',
    '[{"key":"esc","value":"a\\"b"}]',  # an escaped quote: not the simple shape
    '[{"value":"v","key":"k"}]',  # keys in another order: not the simple shape
    "[{'key': 'py', 'value': 'repr'}]",
    "[]",
]


def test_label_cells_read_the_same_whatever_the_parser(tmp_path):
    """Label lists in the shapes that take from_json and in those that take the text cast give
    the labels json.loads / ast read (Tags: resource labels first, then project labels)."""
    header = ["billing_account_id", "service.description", "usage_start_time", "usage_end_time", "project.id",
              "project.labels", "labels", "cost", "currency", "invoice.month"]
    src = tmp_path / "labels.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for cell, project in zip(LABEL_CELLS, LABEL_CELLS[::-1]):
            w.writerow(["A-1", "Vertex AI", "2026-10-01 00:00:00+00:00", "2026-10-01 01:00:00+00:00", "p1",
                        project, cell, "1", "USD", "202610"])
    normalize("gcp-billing", [src], tmp_path / "out")
    got = q(tmp_path / "out", "SELECT x_SourceRow, Tags FROM T ORDER BY 1")
    assert len(got) == len(LABEL_CELLS)
    for (row, tags), cell, project in zip(got, LABEL_CELLS, LABEL_CELLS[::-1]):
        expected = {}
        for label in as_list(cell) + as_list(project):
            expected.setdefault(label["key"], label["value"])
        assert (json.loads(tags) if tags is not None else {}) == expected, (row, cell)


def test_underscore_flattened_headers(tmp_path):
    """`SELECT service.description AS service_description ...` exports are read the same."""
    sample = next(p for p in GCP_SAMPLES if "202011" in p.name)
    text = sample.read_text().split("\n", 1)
    flat = tmp_path / "flat.csv"
    flat.write_text(text[0].replace(".", "_") + "\n" + text[1])
    normalize("gcp-billing", [flat], tmp_path / "out")
    assert focus_totals(tmp_path / "out") == focus_totals_of(sample, tmp_path / "ref")


def focus_totals_of(source: Path, out: Path) -> dict:
    normalize("gcp-billing", [source], out)
    return focus_totals(out)


# --- bad input: file, 1-based data row, column as the source names it ---

def _broken_sample(tmp_path: Path, row: int, column: str, value: str | None) -> Path:
    sample = next(p for p in GCP_SAMPLES if "202011" in p.name)
    with open(sample, newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    if value is None:  # drop the column
        i = header.index(column)
        rows = [r[:i] + r[i + 1:] for r in rows]
    else:
        rows[row][header.index(column)] = value
    out = tmp_path / "broken.csv"
    with open(out, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return out


@pytest.mark.parametrize("column, value, message", [
    ("cost", "1.2.3", "is not a number"),
    ("currency", "XYZ", "unknown currency code 'XYZ'"),
    ("usage_start_time", "yesterday", "is not a date/time"),
    ("credits", "[{'name': 'x', 'amount': 'lots', 'type': 'PROMOTION'}]", "credit amount 'lots' is not a number"),
    ("labels", "[{'key': 'team', 'value': ", "is not a list"),
    ("invoice.month", "2020-11", "is not a month"),
    ("cost_type", "refund", "unknown cost type 'refund'"),
])
def test_bad_value_names_file_row_and_column(tmp_path, column, value, message):
    broken = _broken_sample(tmp_path, 17, column, value)
    with pytest.raises(BadInputError) as err:
        normalize("gcp-billing", [broken], tmp_path / "out")
    assert (err.value.file, err.value.row, err.value.column) == ("broken.csv", 17, column)
    assert message in err.value.message


def test_bad_invoice_month_is_caught_when_landing(tmp_path):
    from normalizers import gcp_billing
    from normalizers.normalize import connect
    broken = _broken_sample(tmp_path, 5, "invoice.month", "202013")
    with pytest.raises(BadInputError) as err:
        gcp_billing.billing_periods(gcp_billing.FileMapping(broken), connect())
    assert (err.value.row, err.value.column) == (5, "invoice.month")
    ok = next(p for p in GCP_SAMPLES if "202011" in p.name)
    assert gcp_billing.billing_periods(gcp_billing.FileMapping(ok), connect()) == ["2020-11"]


def test_missing_required_column(tmp_path):
    broken = _broken_sample(tmp_path, 0, "cost", None)
    with pytest.raises(BadInputError) as err:
        normalize("gcp-billing", [broken], tmp_path / "out")
    assert (err.value.file, err.value.row, err.value.column) == ("broken.csv", None, "cost")
    assert "missing required" in err.value.message


def test_source_totals_match_the_independent_reading(gcp_generated):
    """The conservation check's own source total (used by the pipeline) agrees with ours."""
    from normalizers import gcp_billing
    from normalizers.normalize import connect
    for path in gcp_generated.values():
        got = {(p, c): Decimal(t) for p, c, t in
               connect().execute(gcp_billing.source_totals_sql(gcp_billing.FileMapping(path))).fetchall()}
        assert {k: v.quantize(CENT) for k, v in got.items()} == {
            k: b.quantize(CENT) for k, (b, _) in expected_totals(path).items()}


# --- the official validator ---

@pytest.mark.official
@pytest.mark.parametrize("sample", GCP_SAMPLES, ids=lambda p: p.name)
def test_samples_pass_official_validator(sample, tmp_path):
    normalize("gcp-billing", [sample], tmp_path)
    assert_official(tmp_path)


@pytest.mark.official
@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_generated_passes_official_validator(gcp_normalized, fmt):
    assert_official(gcp_normalized[fmt])


def test_a_row_missing_from_the_tag_lookup_fails_loudly(gcp_generated):
    """Parquet Tags come from a table grouped by the lists' hash: a combination missing from it
    (what a hash collision would do) must stop the query, never give the row empty Tags."""
    from normalizers import gcp_billing
    from normalizers.normalize import connect, prepare_connection
    mapping = gcp_billing.FileMapping(gcp_generated["parquet"])
    assert mapping.tags_by_lookup and not gcp_billing.FileMapping(gcp_generated["csv"]).tags_by_lookup
    con = connect()
    prepare_connection(gcp_billing, con, [mapping])
    query = f"SELECT count(Tags) FROM ({gcp_billing.focus_query([mapping])})"
    assert con.execute(query).fetchone()[0] > 0
    con.execute(f"DELETE FROM {mapping.tag_lookup} WHERE l0 IS NOT NULL AND len(l0) > 0 "
                f"AND rowid = (SELECT min(rowid) FROM {mapping.tag_lookup} WHERE len(l0) > 0)")
    with pytest.raises(duckdb.Error, match="missing from its lookup table"):
        con.execute(query).fetchall()


def test_a_missing_tag_list_and_an_empty_one_share_the_lookup(gcp_generated, gcp_normalized, tmp_path):
    """DuckDB hashes a NULL list and an empty list alike: a Parquet file holding both (rows
    without labels at all, others with []) must still find every row's Tags, the same as before."""
    src = gcp_generated["parquet"]
    edited = tmp_path / "nulls.parquet"
    duckdb.sql(f"COPY (SELECT * REPLACE (CASE WHEN len(labels) = 0 AND hash(usage_start_time, sku) % 2 = 0 "
               f"THEN NULL ELSE labels END AS labels) FROM '{src}') TO '{edited}' (FORMAT parquet)")
    [(nulls, empties)] = duckdb.sql(f"SELECT count(*) FILTER (WHERE labels IS NULL), count(*) FILTER (WHERE len(labels) = 0) "
                                    f"FROM '{edited}'").fetchall()
    assert nulls > 0 and empties > 0
    normalize("gcp-billing", [edited], tmp_path / "out")
    tags = "SELECT x_SourceRow, Tags FROM T ORDER BY x_SourceRow"
    assert q(tmp_path / "out", tags) == q(gcp_normalized["parquet"], tags)


def test_float_amounts_convert_as_their_text_does():
    """float_decimal_sql skips the text for doubles where that provably gives the same decimal:
    checked against the text route on 400k doubles of every magnitude and fraction length, on
    values next to a tie at the 13th place (the shortcut's margin), on integers around 2^53,
    and on edge cases (the bounds, long fractions, large values)."""
    from normalizers.sources import decimal_sql, float_decimal_sql
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")  # the same doubles on every run
    con.execute("CREATE TABLE t AS SELECT round((random() - 0.5) * pow(10, (i % 13) - 6), CAST((i // 13) % 16 AS INTEGER)) AS x "
                "FROM range(200000) r(i) UNION ALL SELECT (random() - 0.5) * pow(10, (i % 13) - 6) FROM range(200000) r(i) "
                # k + 0.5 +- d units of the 12th place, for magnitudes up to the bound: ties and near-ties
                "UNION ALL SELECT (CAST(floor(random() * pow(10, i % 16)) AS DOUBLE) + 0.5 + (i % 7 - 3) * 0.06) * 1e-12 "
                "FROM range(100000) r(i) "
                "UNION ALL SELECT (9007199254740992 - 50 + i) * CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END FROM range(100) r(i) "
                "UNION ALL SELECT unnest([999.999999999999, 1000.0, -999.9999999999995, 0.0, -0.0, 0.1, 5e-13, 1.5e-12, "
                "0.6299305555555555, 2.3e-05, 2144047674.0, 4503.6, 0.000277777777777778, 123.456789012345, "
                "1753184175390720.0, 1e15, 1e16, 1e20, 33.94000000040978, 999.9999999999994, 999.9999999999996])")
    differ = con.execute(f"SELECT count(*), any_value(x) FROM t WHERE ({float_decimal_sql('x')}) "
                         f"IS DISTINCT FROM ({decimal_sql('CAST(x AS VARCHAR)')})").fetchone()
    assert differ[0] == 0, f"first value converted differently: {differ[1]!r}"
    # the shortcuts are taken, not only the text route
    [(near, whole)] = con.execute("SELECT count(*) FILTER (WHERE abs(x) < 1000 AND abs(x * 1e12 - round(x * 1e12)) < 0.35), "
                                  "count(*) FILTER (WHERE abs(x) >= 1000 AND x = round(x)) FROM t").fetchall()
    assert near > 200_000 and whole > 1_000


def test_sources_are_imported_on_demand_and_a_parquet_run_needs_no_pyarrow(gcp_generated, tmp_path):
    """normalize.SOURCES imports a source's module when asked for it; a GCP Parquet run never
    imports pyarrow (0.1-0.2 s of every CLI call). Run in a fresh interpreter."""
    code = f"""
import sys
from pathlib import Path
from normalizers.normalize import SOURCES, normalize
assert not any(m in sys.modules for m in ("normalizers.aws_cur", "normalizers.expenses", "pyarrow"))
result = normalize("gcp-billing", [Path({str(gcp_generated['parquet'])!r})], Path({str(tmp_path / 'out')!r}))
assert result.rows > 0
assert "pyarrow" not in sys.modules, "pyarrow was imported"
assert all(SOURCES[name].SOURCE == name for name in SOURCES)  # each key names its module's source
"""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert proc.returncode == 0, proc.stderr


def test_pricing_currency_columns_repeat_the_billing_currency_ones(gcp_normalized):
    """GCP prices in the billing account's currency: FOCUS's pricing-currency columns repeat the
    billing-currency ones (a present column must be filled), for USD and EUR accounts alike."""
    for fmt in ("csv", "parquet"):
        assert q(gcp_normalized[fmt], "SELECT count(*) FROM T WHERE PricingCurrency IS DISTINCT FROM BillingCurrency "
                                      "OR PricingCurrencyEffectiveCost IS DISTINCT FROM EffectiveCost") == [(0,)]
        assert set(q(gcp_normalized[fmt], "SELECT DISTINCT PricingCurrency FROM T")) == {("USD",), ("EUR",)}
