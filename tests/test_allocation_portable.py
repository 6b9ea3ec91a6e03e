"""DESIGN section 8: the allocation SQL stays portable enough to run on Spark. Every model under
sql/allocation/ is transpiled DuckDB -> Spark by sqlglot (unsupported constructs raise) and the
result parses as Spark SQL. What Spark lacks is listed here with its Spark form, so that a new
DuckDB-only construct fails this test instead of slipping in."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

MODELS = sorted((Path(__file__).resolve().parents[1] / "sql" / "allocation").glob("*.sql"))
# DuckDB-only names left in the Spark output -> what a Spark port writes instead.
KNOWN_GAPS = {
    "JSON_TRANSFORM": "from_json(Tags, 'map<string,string>')",
    "INT128": "DECIMAL(38, 0) (exact integer arithmetic on the 1e-12 units)",
}
SPARK_FUNCTIONS_SQLGLOT_DOES_NOT_KNOW = {"MAP_ENTRIES"}


def test_every_allocation_model_is_checked():
    from pipelines.warehouse import MODELS as ORDER
    assert {f"allocation/{m.stem}" for m in MODELS} == {m for m in ORDER if m.startswith("allocation/")}


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_model_transpiles_to_spark(model):
    spark = sqlglot.transpile(model.read_text(), read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE)
    assert len(spark) == 1
    tree = sqlglot.parse_one(spark[0], read="spark")
    assert isinstance(tree, exp.Create)
    leftovers = {f.name.upper() for f in tree.find_all(exp.Anonymous)} - SPARK_FUNCTIONS_SQLGLOT_DOES_NOT_KNOW
    leftovers |= {t.sql("spark") for t in tree.find_all(exp.DataType)} & set(KNOWN_GAPS)
    assert leftovers <= set(KNOWN_GAPS), f"{model.name}: not portable to Spark: {leftovers - set(KNOWN_GAPS)}"
