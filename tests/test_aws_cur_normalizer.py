"""The AWS CUR mapping on real-format samples and generated CURs: money is conserved to the
cent, EffectiveCost equals AWS's amortized formula, and the FOCUS contract holds on every row."""
from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from normalizers import checks
from normalizers.aws_cur import LINE_ITEM_TYPES, canonical_name
from normalizers.normalize import normalize
from normalizers.pandera_schema import validate_parquet

from conftest import AWS_SAMPLES, assert_totals, expected_totals

def assert_conserved(source: Path, out: Path):
    assert_totals(expected_totals(source), out)


def test_shared_samples_are_present():
    assert AWS_SAMPLES, "../shared/samples/aws is expected beside the project (it is in CI)"


@pytest.mark.parametrize("sample", AWS_SAMPLES, ids=lambda p: p.name)
def test_samples_normalize_and_conserve(sample, tmp_path):
    result = normalize("aws-cur", [sample], tmp_path)
    assert result.rows >= 1
    assert_conserved(sample, tmp_path)
    for part in tmp_path.rglob("*.parquet"):
        assert checks.check_parquet(duckdb.connect(), str(part)) == []
        assert validate_parquet(part) > 0


@pytest.mark.parametrize("fmt", ["legacy-csv", "cur2-parquet", "cur2-csv"])
def test_generated_cur_conserves_money(generated, fmt, tmp_path):
    normalize("aws-cur", [generated[fmt]], tmp_path)
    assert_conserved(generated[fmt], tmp_path)


def test_generated_cur_covers_every_line_item_type(generated, tmp_path):
    normalize("aws-cur", [generated["legacy-csv"]], tmp_path)
    seen = {r[0] for r in duckdb.sql(f"SELECT DISTINCT x_ChargeType FROM '{tmp_path}/*/*.parquet'").fetchall()}
    assert seen >= set(LINE_ITEM_TYPES) - {"Discount"}


def test_commitments_in_focus_form(generated, tmp_path):
    """Purchases covering future usage cost 0; the unused part is its own Usage row."""
    normalize("aws-cur", [generated["legacy-csv"]], tmp_path)
    q = lambda sql: duckdb.sql(sql.replace(" FROM T", f" FROM '{tmp_path}/*/*.parquet'", 1)).fetchall()  # noqa: E731
    assert q("SELECT count(*) FROM T WHERE ChargeCategory = 'Purchase' AND CommitmentDiscountId IS NOT NULL "
             "AND EffectiveCost <> 0") == [(0,)]
    unused = q("SELECT ChargeCategory, PricingCategory, min(BilledCost), max(BilledCost), count(*) FROM T "
               "WHERE CommitmentDiscountStatus = 'Unused' GROUP BY ALL")
    assert unused and unused[0][:4] == ("Usage", "Committed", 0, 0)
    refunds = q("SELECT DISTINCT ChargeCategory, ChargeClass FROM T WHERE x_ChargeType = 'Refund'")
    assert refunds == [("Credit", "Correction")]
    credits = q("SELECT DISTINCT ChargeCategory, ChargeClass FROM T WHERE x_ChargeType = 'Credit'")
    assert credits == [("Credit", None)]
    spot = q("SELECT DISTINCT PricingCategory FROM T WHERE x_UsageType LIKE '%SpotUsage%' AND x_ChargeType = 'Usage'")
    assert spot == [("Dynamic",)]


def test_tags_become_focus_json_without_user_prefix(generated, tmp_path):
    normalize("aws-cur", [generated["legacy-csv"]], tmp_path)
    keys = {k for (k,) in duckdb.sql(
        f"SELECT DISTINCT unnest(json_keys(Tags)) FROM '{tmp_path}/*/*.parquet' WHERE Tags IS NOT NULL").fetchall()}
    assert {"team", "Team", "owner-team", "project", "gpu-cluster", "aws:createdBy"} <= keys
    assert not any(k.startswith("user:") for k in keys)
    normalize("aws-cur", [generated["cur2-parquet"]], tmp_path / "cur2")
    keys2 = {k for (k,) in duckdb.sql(
        f"SELECT DISTINCT unnest(json_keys(Tags)) FROM '{tmp_path}/cur2/*/*.parquet' WHERE Tags IS NOT NULL").fetchall()}
    assert {"team", "Team", "owner-team", "project"} <= keys2


def test_provenance_points_at_the_source_row(generated, tmp_path):
    normalize("aws-cur", [generated["legacy-csv"]], tmp_path)
    row = duckdb.sql(f"SELECT x_SourceFile, x_SourceRow, BilledCost FROM '{tmp_path}/*/*.parquet' "
                     f"WHERE x_SourceRow = 1234 AND CommitmentDiscountStatus IS DISTINCT FROM 'Unused'").fetchall()[0]
    from conftest import read_source_rows
    src = read_source_rows(generated["legacy-csv"])[1234 - 1]
    assert row[0] == "cur.csv.gz"
    assert row[2] == Decimal(src["lineItem/UnblendedCost"])


def test_canonical_names_match_cur2():
    assert canonical_name("lineItem/UnblendedCost") == "line_item_unblended_cost"
    assert canonical_name("savingsPlan/SavingsPlanARN") == "savings_plan_savings_plan_a_r_n"
    assert canonical_name("pricing/publicOnDemandCost") == "pricing_public_on_demand_cost"


def test_our_checks_catch_a_single_bad_enum_row(generated, tmp_path):
    normalize("aws-cur", [generated["legacy-csv"]], tmp_path / "ok")
    src = next((tmp_path / "ok").rglob("*.parquet"))
    bad = tmp_path / "bad.parquet"
    duckdb.sql(f"COPY (SELECT * REPLACE (CASE WHEN x_SourceRow = 777 AND CommitmentDiscountStatus IS DISTINCT FROM "
               f"'Unused' THEN 'Usages' ELSE ChargeCategory END AS ChargeCategory) FROM '{src}') TO '{bad}' (FORMAT parquet)")
    found = checks.check_parquet(duckdb.connect(), str(bad))
    assert [(v.rule, v.column, v.rows, v.example_row) for v in found] == [("allowed-values", "ChargeCategory", 1, 777)]


@pytest.mark.parametrize("column, broken, rule", [
    ("RegionName", "NULL", "name-with-id"),
    ("SubAccountName", "NULL", "name-with-id"),
    ("ResourceType", "NULL", "type-with-id"),
    ("SkuPriceId", "NULL", "details-need-price-id"),
    ("Tags", "'[1, 2]'", "key-value-object"),
])
def test_our_checks_catch_a_broken_pair(generated, tmp_path, column, broken, rule):
    """FOCUS 1.2 nullability pairs, checked on every row: one row broken is found, by file and row."""
    normalize("aws-cur", [generated["legacy-csv"]], tmp_path / "ok")
    src = next((tmp_path / "ok").rglob("billing_period=2026-10/*.parquet"))
    partner = {"RegionName": "RegionId", "SubAccountName": "SubAccountId", "ResourceType": "ResourceId",
               "SkuPriceId": "SkuPriceDetails", "Tags": "Tags"}[column]
    row = duckdb.execute(f"SELECT min(x_SourceRow) FROM '{src}' WHERE {partner} IS NOT NULL").fetchall()[0][0]
    bad = tmp_path / "bad.parquet"
    duckdb.sql(f"COPY (SELECT * REPLACE (CASE WHEN x_SourceRow = {row} THEN {broken} ELSE {column} END AS {column}) "
               f"FROM '{src}') TO '{bad}' (FORMAT parquet)")
    assert checks.check_parquet(duckdb.connect(), str(src)) == []
    found = [(v.rule, v.rows, v.example_row) for v in checks.check_parquet(duckdb.connect(), str(bad))]
    assert found == [(rule, 1, row)]


def test_validate_cli_fails_on_one_bad_row(generated, tmp_path):
    from click.testing import CliRunner
    from pipelines.cli import main
    normalize("aws-cur", [generated["legacy-csv"]], tmp_path / "ok")
    src = next((tmp_path / "ok").rglob("*.parquet"))
    assert CliRunner().invoke(main, ["validate", str(src)]).exit_code == 0
    bad = tmp_path / "bad.parquet"
    duckdb.sql(f"COPY (SELECT * REPLACE (CASE WHEN x_SourceRow = 42 THEN 'Monthly' ELSE ChargeFrequency END "
               f"AS ChargeFrequency) FROM '{src}') TO '{bad}' (FORMAT parquet)")
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "allowed-values on ChargeFrequency" in result.output and "row 42" in result.output
    # a folder stands for its files (a partition's); an empty one fails rather than passing
    (tmp_path / "part").mkdir()
    shutil.copy(src, tmp_path / "part" / "a.parquet")
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "part")])
    assert result.exit_code == 0 and result.output.count("ok ") == 1, result.output
    shutil.copy(bad, tmp_path / "part" / "b.parquet")
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "part")])
    assert result.exit_code == 1 and result.output.count("ok ") == 1 and "b.parquet" in result.output
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "empty")])
    assert result.exit_code == 1 and "no Parquet files" in result.output
