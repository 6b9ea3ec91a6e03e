"""Our own FOCUS checks, generated from the contract and run in DuckDB over Parquet.

Unlike the official validator (which fails an allowed-value rule only when every row is wrong),
each check here counts the offending rows and names the first one by file and source row."""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from .currencies import ISO_4217
from .focus_contract import ALL_COLUMNS, BY_NAME, SERVICE_SUBCATEGORIES
from .sources import sql_str


@dataclass(frozen=True)
class Violation:
    rule: str
    column: str
    rows: int
    example_file: str | None
    example_row: int | None

    def __str__(self) -> str:
        where = f" (first: {self.example_file}, row {self.example_row})" if self.example_file else ""
        return f"{self.rule} on {self.column}: {self.rows} row(s){where}"


def _in(values) -> str:
    return ", ".join(sql_str(v) for v in values)


def rules() -> list[tuple[str, str, str]]:
    """(rule, column, SQL predicate that is TRUE for a bad row)."""
    out = []
    for col in ALL_COLUMNS:
        q = f'"{col.name}"'
        if not col.nullable:
            out.append(("not-null", col.name, f"{q} IS NULL"))
        if col.allowed_values:
            out.append(("allowed-values", col.name, f"{q} IS NOT NULL AND {q} NOT IN ({_in(col.allowed_values)})"))
    subcats = " OR ".join(f"(ServiceCategory = {sql_str(c)} AND ServiceSubcategory IN ({_in(s)}))"
                          for c, s in SERVICE_SUBCATEGORIES.items())
    out += [
        ("iso-4217", "BillingCurrency", f"BillingCurrency NOT IN ({_in(sorted(ISO_4217))})"),
        ("subcategory-of-category", "ServiceSubcategory", f"NOT ({subcats})"),
        ("period-order", "ChargePeriodEnd", "ChargePeriodEnd < ChargePeriodStart"),
        ("period-order", "BillingPeriodEnd", "BillingPeriodEnd <= BillingPeriodStart"),
        ("purchase-future-effective-zero", "EffectiveCost",
         "ChargeCategory = 'Purchase' AND CommitmentDiscountId IS NOT NULL AND EffectiveCost <> 0"),
        ("unused-commitment-not-billed", "BilledCost",
         "CommitmentDiscountStatus = 'Unused' AND BilledCost <> 0"),
        ("status-needs-commitment", "CommitmentDiscountStatus",
         "CommitmentDiscountStatus IS NOT NULL AND CommitmentDiscountId IS NULL"),
        ("credit-effective-equals-billed", "EffectiveCost",
         "ChargeCategory = 'Credit' AND EffectiveCost <> BilledCost"),
        ("unit-with-quantity", "PricingUnit", "PricingQuantity IS NOT NULL AND PricingUnit IS NULL"),
        # FOCUS 1.2 nullability pairs (the official validator checks them only when the source's
        # applicability criteria are declared; these run on every publish)
        ("name-with-id", "RegionName", "(RegionId IS NULL) <> (RegionName IS NULL)"),
        ("name-with-id", "SubAccountName", "SubAccountId IS NOT NULL AND SubAccountName IS NULL"),
        ("type-with-id", "ResourceType", "ResourceId IS NOT NULL AND ResourceType IS NULL"),
        ("tax-has-no-sku", "SkuId", "ChargeCategory = 'Tax' AND SkuId IS NOT NULL"),
        ("meter-needs-sku", "SkuMeter", "SkuMeter IS NOT NULL AND SkuId IS NULL"),
        ("details-need-price-id", "SkuPriceDetails", "SkuPriceDetails IS NOT NULL AND SkuPriceId IS NULL"),
        ("key-value-object", "Tags", "Tags IS NOT NULL AND json_type(Tags) <> 'OBJECT'"),
    ]
    assert all(c in BY_NAME or c.startswith("x_") for _, c, _ in out)
    return out


def check_parquet(con: duckdb.DuckDBPyConnection, glob: str) -> list[Violation]:
    """Run every rule over the Parquet files matching `glob` in one scan."""
    rs = rules()
    aggs = ", ".join(
        f"count(*) FILTER (WHERE {pred}), arg_min(struct_pack(f := x_SourceFile, r := x_SourceRow), "
        f"x_SourceRow) FILTER (WHERE {pred})" for _, _, pred in rs)
    result = con.execute(f"SELECT {aggs} FROM read_parquet({sql_str(glob)})").fetchone()
    out = []
    for i, (rule, column, _) in enumerate(rs):
        count, first = result[2 * i], result[2 * i + 1]
        if count:
            out.append(Violation(rule, column, count, first and first["f"], first and first["r"]))
    return out


def missing_columns(con: duckdb.DuckDBPyConnection, glob: str) -> list[str]:
    names = {d[0] for d in con.execute(f"SELECT * FROM read_parquet({sql_str(glob)}) LIMIT 0").description}
    return [c.name for c in ALL_COLUMNS if c.name not in names]
