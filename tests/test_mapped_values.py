"""The cloud normalizers write their fixed-value text columns through a DuckDB ENUM of the values
those columns may take (focus_contract.MAPPED_VALUES): a value outside it fails the write. So
every value their mapping tables can give is checked here against the FOCUS allowed values,
table by table, and a value outside is shown to stop the write as the bug it would be."""
from __future__ import annotations

import duckdb
import pytest

from normalizers import aws_cur, azure_cost, focus_contract as fc, gcp_billing
from normalizers.normalize import connect, normalize

SUBCATEGORIES = fc.SERVICE_SUBCATEGORIES


def not_allowed(column: str, values) -> list:
    """The values (None: no value) that are not allowed in `column`."""
    return [v for v in values if v is not None and v not in fc.MAPPED_VALUES[column]]


def bad_services(services) -> list:
    """(category, subcategory) pairs that FOCUS does not have."""
    return [(cat, sub) for cat, sub in services if sub not in SUBCATEGORIES.get(cat, ())]


def test_gcp_tables_give_allowed_values_only():
    types = gcp_billing.COST_TYPES.values()
    assert not_allowed("ChargeCategory", [t.charge_category for t in types] + ["Credit"]) == []
    assert not_allowed("ChargeFrequency", [t.charge_frequency for t in types]) == []
    assert bad_services(gcp_billing.SERVICES.values()) == []


def test_azure_tables_give_allowed_values_only():
    types = azure_cost.CHARGE_TYPES.values()
    assert not_allowed("ChargeCategory", [t.charge_category for t in types]) == []
    assert not_allowed("ChargeClass", [t.charge_class for t in types]) == []
    assert not_allowed("CommitmentDiscountStatus", [t.status for t in types]) == []
    assert not_allowed("ChargeFrequency", [t.frequency for t in types] + list(azure_cost.FREQUENCIES.values())) == []
    assert not_allowed("PricingCategory", azure_cost.PRICING_MODELS.values()) == []
    assert not_allowed("CommitmentDiscountCategory", [c for c, _ in azure_cost.COMMITMENTS.values()]) == []
    services = [*azure_cost.SERVICES.values(), *azure_cost.METER_CATEGORIES.values()]
    assert bad_services((cat, sub) for _, cat, sub in services) == []


def test_aws_tables_give_allowed_values_only():
    types = aws_cur.LINE_ITEM_TYPES.values()
    assert not_allowed("ChargeCategory", [t.charge_category for t in types]) == []
    assert not_allowed("ChargeClass", [t.charge_class for t in types]) == []
    assert not_allowed("ChargeFrequency", [t.charge_frequency for t in types]) == []
    # "spot-aware" is resolved to Standard or Dynamic in SQL, never written
    assert not_allowed("PricingCategory", [t.pricing_category for t in types if t.pricing_category != "spot-aware"]) == []
    assert not_allowed("CommitmentDiscountStatus", [t.commitment_status for t in types]) == []
    assert not_allowed("CommitmentDiscountCategory", [c for _, c, _ in aws_cur.COMMITMENTS.values()]) == []
    assert bad_services(aws_cur.SERVICES.values()) == []


def test_a_mapped_value_outside_its_enum_stops_the_write_as_a_bug(tmp_path, monkeypatch):
    """A mapping-table value FOCUS does not allow is our bug: the write fails loudly, and it is
    not reported as bad input (nor is the file quarantined for it)."""
    from pipelines.generators.gcp_billing import generate
    export = generate(tmp_path / "gcp.csv", 50, "2026-10", seed=1, fmt="csv")
    monkeypatch.setitem(gcp_billing.COST_TYPES, "regular", gcp_billing.CostType("Usage", "Usage-based"))
    with pytest.raises(duckdb.ConversionException, match="Usage-based"):
        normalize("gcp-billing", [export], tmp_path / "out", connect())


def test_enum_columns_are_written_as_plain_text(tmp_path):
    """The ENUM is only how values travel to the writer: the file holds UTF-8 strings, read back
    as VARCHAR (and by pyarrow as string), as before."""
    from pipelines.generators.gcp_billing import generate
    export = generate(tmp_path / "gcp.parquet", 200, "2026-10", seed=2, fmt="parquet")
    result = normalize("gcp-billing", [export], tmp_path / "out", connect())
    files = [str(p) for p in result.out_dir.glob("billing_period=*/*.parquet")]
    con = duckdb.connect()
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet({files}))").fetchall())
    for name in [*fc.MAPPED_VALUES, "ProviderName", "x_Source", "x_SourceFile"]:
        assert types[name] == "VARCHAR", name
    import pyarrow.parquet as pq
    schema = pq.read_schema(files[0])
    assert str(schema.field("ChargeCategory").type) == "string" and str(schema.field("x_SourceFile").type) == "string"
    assert con.execute(f"SELECT DISTINCT x_SourceFile FROM read_parquet({files})").fetchall() == [(export.name,)]
