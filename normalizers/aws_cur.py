"""AWS Cost and Usage Report -> FOCUS 1.2.

Reads legacy CUR (CSV / CSV.gz, `lineItem/UnblendedCost`, `resourceTags/user:team`; also its
flattened snake_case Parquet/Athena form, `resource_tags_user_team`) and CUR 2.0 (Parquet or CSV,
`line_item_unblended_cost`, a `resource_tags` map). Every header is first put into CUR 2.0's
snake_case names; the mapping below is written once, against those names.

EffectiveCost follows the amortized formula, in FOCUS form: commitment purchases (RI and
Savings Plan fees) get EffectiveCost 0 and the unused part of a commitment becomes a row of its
own (ChargeCategory Usage, CommitmentDiscountStatus Unused, BilledCost 0).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .focus_contract import MAPPED_VALUES, select_list
from .errors import BadInputError
from .sources import bad_input_sql, currency_sql, raw_relation, read_header, sql_ident, sql_str, summed_totals_sql

SOURCE = "aws-cur"
PROVIDER = "AWS"


@dataclass(frozen=True)
class LineItemType:
    charge_category: str
    charge_frequency: str
    effective_cost: str                 # key of EFFECTIVE_COST
    charge_class: str | None = None
    pricing_category: str | None = None  # "spot-aware" = Standard, or Dynamic for Spot
    commitment: str | None = None        # "sp" or "ri": which commitment the row belongs to
    commitment_status: str | None = None
    unused: str | None = None            # key of UNUSED_COST: this row also yields an Unused row


# The whole line-item-type mapping. Purchases that cover future usage have EffectiveCost 0;
# their cost reaches EffectiveCost through covered usage and through the Unused rows.
LINE_ITEM_TYPES: dict[str, LineItemType] = {
    "Usage": LineItemType("Usage", "Usage-Based", "billed", pricing_category="spot-aware"),
    "DiscountedUsage": LineItemType("Usage", "Usage-Based", "ri_effective", pricing_category="Committed",
                                    commitment="ri", commitment_status="Used"),
    "SavingsPlanCoveredUsage": LineItemType("Usage", "Usage-Based", "sp_effective",
                                            pricing_category="Committed", commitment="sp",
                                            commitment_status="Used"),
    # Negation cancels the on-demand cost of covered usage on the invoice; it has no amortized cost.
    "SavingsPlanNegation": LineItemType("Usage", "Usage-Based", "zero", pricing_category="Committed",
                                        commitment="sp", commitment_status="Used"),
    "SavingsPlanUpfrontFee": LineItemType("Purchase", "One-Time", "zero", pricing_category="Standard",
                                          commitment="sp"),
    "SavingsPlanRecurringFee": LineItemType("Purchase", "Recurring", "zero", pricing_category="Standard",
                                            commitment="sp", unused="sp_unused"),
    "RIFee": LineItemType("Purchase", "Recurring", "zero", pricing_category="Standard",
                          commitment="ri", unused="ri_unused"),
    # A Fee with a reservation is an RI's upfront purchase; other fees are what they cost.
    "Fee": LineItemType("Purchase", "One-Time", "fee", pricing_category="Standard", commitment="ri"),
    "Credit": LineItemType("Credit", "One-Time", "billed"),
    "Refund": LineItemType("Credit", "One-Time", "billed", charge_class="Correction"),
    "Tax": LineItemType("Tax", "Recurring", "billed"),
    "EdpDiscount": LineItemType("Credit", "Usage-Based", "billed"),
    "BundledDiscount": LineItemType("Credit", "Usage-Based", "billed"),
    "PrivateRateDiscount": LineItemType("Credit", "Usage-Based", "billed"),
    "Discount": LineItemType("Credit", "Usage-Based", "billed"),
}

DEC = "DECIMAL(38,12)"
EFFECTIVE_COST = {
    "billed": "__billed",
    "zero": "0",
    "ri_effective": f"CAST(reservation_effective_cost AS {DEC})",
    "sp_effective": f"CAST(savings_plan_savings_plan_effective_cost AS {DEC})",
    "fee": "CASE WHEN reservation_reservation_a_r_n IS NULL THEN __billed ELSE 0 END",
}
UNUSED_COST = {
    "sp_unused": (f"CAST(savings_plan_total_commitment_to_date AS {DEC}) "
                  f"- CAST(savings_plan_used_commitment AS {DEC})"),
    "ri_unused": (f"coalesce(CAST(reservation_unused_amortized_upfront_fee_for_billing_period AS {DEC}), 0) "
                  f"+ coalesce(CAST(reservation_unused_recurring_fee AS {DEC}), 0)"),
}
COMMITMENTS = {  # id column, FOCUS category, type
    "sp": ("savings_plan_savings_plan_a_r_n", "Spend", "Savings Plan"),
    "ri": ("reservation_reservation_a_r_n", "Usage", "Reserved Instance"),
}

# AWS product codes -> FOCUS ServiceCategory / ServiceSubcategory.
SERVICES: dict[str, tuple[str, str]] = {
    "AmazonEC2": ("Compute", "Virtual Machines"),
    "AmazonEKS": ("Compute", "Containers"),
    "AmazonECS": ("Compute", "Containers"),
    "AmazonECR": ("Compute", "Containers"),
    "AWSLambda": ("Compute", "Serverless Compute"),
    "ComputeSavingsPlans": ("Compute", "Virtual Machines"),
    "AmazonS3": ("Storage", "Object Storage"),
    "AmazonEFS": ("Storage", "File Storage"),
    "AmazonFSx": ("Storage", "File Storage"),
    "AWSBackup": ("Storage", "Backup Storage"),
    "AmazonRDS": ("Databases", "Relational Databases"),
    "AmazonDynamoDB": ("Databases", "NoSQL Databases"),
    "AmazonElastiCache": ("Databases", "Caching"),
    "AmazonRedshift": ("Databases", "Data Warehouses"),
    "AmazonBedrock": ("AI and Machine Learning", "Generative AI"),
    "AmazonSageMaker": ("AI and Machine Learning", "Machine Learning"),
    "AmazonQ": ("AI and Machine Learning", "Generative AI"),
    "AmazonComprehend": ("AI and Machine Learning", "Natural Language Processing"),
    "AmazonTextract": ("AI and Machine Learning", "Machine Learning"),
    "AmazonRekognition": ("AI and Machine Learning", "Machine Learning"),
    "AmazonAthena": ("Analytics", "Analytics Platforms"),
    "AWSGlue": ("Analytics", "Data Processing"),
    "ElasticMapReduce": ("Analytics", "Data Processing"),
    "AmazonKinesis": ("Analytics", "Streaming Analytics"),
    "AmazonVPC": ("Networking", "Network Infrastructure"),
    "AWSDataTransfer": ("Networking", "Network Connectivity"),
    "AmazonCloudFront": ("Networking", "Content Delivery"),
    "AmazonRoute53": ("Networking", "Network Routing"),
    "AWSELB": ("Networking", "Application Networking"),
    "AmazonSNS": ("Integration", "Messaging"),
    "AWSQueueService": ("Integration", "Messaging"),
    "AmazonCloudWatch": ("Management and Governance", "Observability"),
    "AWSCloudTrail": ("Management and Governance", "Compliance"),
    "AWSConfig": ("Management and Governance", "Compliance"),
    "AWSCostExplorer": ("Management and Governance", "Cost Management"),
    "AWSSupportBusiness": ("Management and Governance", "Support"),
    "AWSSupportEnterprise": ("Management and Governance", "Support"),
    "awskms": ("Security", "Secret Management"),
    "AWSSecretsManager": ("Security", "Secret Management"),
    "AmazonGuardDuty": ("Security", "Threat Detection and Response"),
}

# AWS pricing units -> FOCUS Unit Format ("Hours", "GB-Months", "1000 Tokens").
PRICING_UNITS = {
    "Hrs": "Hours", "hours": "Hours", "GB-Mo": "GB-Months", "GB-Month": "GB-Months",
    "1K tokens": "1000 Tokens", "1M tokens": "1000000 Tokens", "Lambda-GB-Second": "GB-Seconds",
    "Request": "Requests", "API Request": "API Requests", "Obj-Month": "Objects-Months",
}
# Applied in order to units not listed above: AWS abbreviations of time units.
UNIT_SUFFIXES = ((r"-Mo$", "-Months"), (r"-Month$", "-Months"), (r"-?Hrs$", "-Hours"),
                 (r"-Hour$", "-Hours"), (r"-Second$", "-Seconds"))


# Units already in FOCUS form, passed through without touching a regex.
FOCUS_UNITS = ("GB", "Hours", "Requests", "API Requests", "Count", "IOs", "Queries", "Events", "Keys",
               "Operations", "Dashboards", "GB-Months", "GB-Hours", "vCPU-Hours", "Units")


def unit_sql(column: str) -> str:
    known = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in PRICING_UNITS.items())
    same = ", ".join(sql_str(u) for u in FOCUS_UNITS)
    generic = column
    for pattern, repl in UNIT_SUFFIXES:
        generic = f"regexp_replace({generic}, {sql_str(pattern)}, {sql_str(repl)})"
    return f"CASE WHEN {column} IN ({same}) THEN {column} ELSE CASE {column} {known} ELSE {generic} END END"


# Columns the mapping reads (CUR 2.0 names); the first group must be in every export.
REQUIRED = (
    "line_item_line_item_type", "line_item_unblended_cost", "line_item_currency_code",
    "bill_billing_period_start_date", "bill_billing_period_end_date",
    "line_item_usage_start_date", "line_item_usage_end_date", "bill_payer_account_id",
)
OPTIONAL = (
    "bill_payer_account_name", "bill_invoice_id", "bill_billing_entity",
    "line_item_usage_account_id", "line_item_usage_account_name", "line_item_product_code",
    "line_item_usage_type", "line_item_operation", "line_item_availability_zone",
    "line_item_resource_id", "line_item_usage_amount", "line_item_unblended_rate",
    "line_item_line_item_description", "line_item_legal_entity",
    "product_product_name", "product_servicename", "product_region_code", "product_region",
    "product_location", "product_sku", "product_instance_type", "product", "pricing_unit",
    "product_product_family", "pricing_term", "pricing_rate_code", "pricing_rate_id",
    "pricing_public_on_demand_cost",
    "pricing_public_on_demand_rate",
    "reservation_reservation_a_r_n", "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period", "reservation_unused_recurring_fee",
    "savings_plan_savings_plan_a_r_n", "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date", "savings_plan_used_commitment",
    "resource_tags",
)

# CUR 2.0 map columns: read per file into __tags / __product_name, never passed on as they are.
MAP_COLUMNS = ("product", "resource_tags")
# Typed source columns, checked one by one when a cast fails, to name the bad row and column.
NUMERIC = (
    "line_item_unblended_cost", "line_item_usage_amount", "line_item_unblended_rate",
    "pricing_public_on_demand_cost", "pricing_public_on_demand_rate", "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period", "reservation_unused_recurring_fee",
    "savings_plan_savings_plan_effective_cost", "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
)
TIMESTAMPS = ("bill_billing_period_start_date", "bill_billing_period_end_date",
              "line_item_usage_start_date", "line_item_usage_end_date")

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def canonical_name(header: str) -> str:
    """`lineItem/UnblendedCost` -> `line_item_unblended_cost` (CUR 2.0's own naming, which is
    how AWS itself flattens legacy names: `savingsPlan/SavingsPlanARN` -> `savings_plan_savings_plan_a_r_n`)."""
    if "/" not in header:
        return header.strip().lower()
    prefix, name = header.split("/", 1)
    return f"{_CAMEL.sub('_', prefix).lower()}_{_CAMEL.sub('_', name).lower()}"


def tag_key(header: str) -> str | None:
    """The FOCUS tag key of a flattened tag column, or None if the column is not a tag."""
    if header.startswith("resourceTags/"):
        key = header[len("resourceTags/"):]
        return key[len("user:"):] if key.startswith("user:") else key
    if header.startswith("resource_tags_"):
        key = header[len("resource_tags_"):]
        return key[len("user_"):] if key.startswith("user_") else key
    return None


class FileMapping:
    """Which columns one export file has, under canonical names, and its tag columns."""

    def __init__(self, path: Path):
        self.path = path
        header = read_header(path)
        self.renames: dict[int, str] = {}  # position in the header -> canonical name
        self.tags: dict[str, str] = {}  # tag key -> internal column name
        self.source_names: dict[str, str] = {}  # canonical -> name as in the file
        for position, original in enumerate(header):
            key = tag_key(original)
            if key is not None:
                if key not in self.tags:
                    internal = f"__tag_{len(self.tags)}"
                    self.tags[key] = internal
                    self.renames[position] = internal
                continue
            canon = canonical_name(original)
            if canon in REQUIRED + OPTIONAL and canon not in self.source_names:
                self.source_names[canon] = original
                self.renames[position] = canon
        missing = [c for c in REQUIRED if c not in self.source_names]
        if missing:
            raise BadInputError(path.name, f"missing required CUR column(s): {', '.join(missing)} "
                                           f"(is this an AWS CUR export?)", column=missing[0])
        self.header = header

    def relation(self, stream: str | None = None, rows: bool = True) -> str:
        """Every canonical column (NULL when the file lacks it) plus __row and __file."""
        inner = raw_relation(self.path, self.header, self.renames, stream, rows)
        cols = [f"{sql_ident(c)}" if c in self.source_names else f"NULL AS {sql_ident(c)}"
                for c in REQUIRED + OPTIONAL if c not in MAP_COLUMNS]
        return (f"SELECT __row, {sql_str(self.path.name)} AS __file, {', '.join(cols)}, "
                f"{self._product_name_expr()} AS __product_name, {self._tags_expr()} AS __tags "
                f"FROM ({inner})")

    def _product_name_expr(self) -> str:
        if "product_product_name" in self.source_names:
            return "product_product_name"
        if "product" in self.source_names:  # CUR 2.0 keeps the product name in the product map
            as_map = ("product" if is_map_column(self.path, self.source_names["product"])
                      else "CAST(CAST(NULLIF(product, '') AS JSON) AS MAP(VARCHAR, VARCHAR))")
            return f"map_extract_value({as_map}, 'product_name')"
        return "CAST(NULL AS VARCHAR)"

    def _tags_expr(self) -> str:
        parts = []
        if self.tags:  # legacy: one column per tag; an empty cell means the tag is absent
            structs = ", ".join(f"{{'key': {sql_str(k)}, 'value': CAST({v} AS VARCHAR)}}"
                                for k, v in self.tags.items())
            kept = f"list_filter([{structs}], lambda e: e.value IS NOT NULL AND e.value <> '')"
            parts.append(f"CAST(to_json(map_from_entries({kept})) AS VARCHAR)")
        if "resource_tags" in self.source_names:  # CUR 2.0: a map holding only the tags set
            as_json = ("to_json(resource_tags)" if is_map_column(self.path, self.source_names["resource_tags"])
                       else "json(NULLIF(resource_tags, ''))")
            # Drop the `user_` key prefix by text: in JSON text `{"user_` and `,"user_` can
            # only start a key (quotes inside values are escaped), and this is ~3x cheaper
            # than rebuilding the map entry by entry.
            parts.append(f"replace(replace(CAST({as_json} AS VARCHAR), '{{\"user_', '{{\"'), ',\"user_', ',\"')")
        if not parts:
            return "CAST(NULL AS JSON)"
        merged = parts[0] if len(parts) == 1 else f"CAST(json_merge_patch({parts[0]}, {parts[1]}) AS VARCHAR)"
        # An empty tag set is NULL, as FOCUS wants.
        return f"CAST(NULLIF({merged}, '{{}}') AS JSON)"


def is_map_column(path: Path, name: str) -> bool:
    if not path.name.endswith(".parquet"):
        return False
    import pyarrow as pa
    import pyarrow.parquet as pq
    return pa.types.is_map(pq.read_schema(path).field(name).type)


def _case(values: dict[str, str | None]) -> str:
    whens = " ".join(f"WHEN {sql_str(t)} THEN {v}" for t, v in values.items() if v is not None)
    return f"CASE __type {whens} END" if whens else "NULL"


def _lit(v: str | None) -> str | None:
    return None if v is None else sql_str(v)



def focus_expressions(source_names: dict[str, str]) -> dict[str, str]:
    """FOCUS column -> SQL expression over the canonical relation (`__unused` marks the extra
    row that carries a commitment's unused part)."""
    types = LINE_ITEM_TYPES
    type_col = source_names.get("line_item_line_item_type", "line_item_line_item_type")
    cur_col = source_names.get("line_item_currency_code", "line_item_currency_code")
    commitment_id = "__commitment_id"
    unused_cost = _case({t: UNUSED_COST[d.unused] for t, d in types.items() if d.unused})
    effective = _case({t: EFFECTIVE_COST[d.effective_cost] for t, d in types.items()})
    spot = ("CASE WHEN pricing_term = 'Spot' OR line_item_usage_type LIKE '%SpotUsage%' "
            "THEN 'Dynamic' ELSE 'Standard' END")
    pricing = f"CASE WHEN lit_pricing = 'spot-aware' THEN {spot} ELSE lit_pricing END"
    commitment_category = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(c)}" for k, (_, c, _) in COMMITMENTS.items())
    commitment_type = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(t)}" for k, (_, _, t) in COMMITMENTS.items())
    services = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(c)}" for k, (c, _) in SERVICES.items())
    subservices = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(s)}" for k, (_, s) in SERVICES.items())

    def unused_or(unused_value: str, normal: str) -> str:
        return f"CASE WHEN __unused THEN {unused_value} ELSE {normal} END"

    def if_committed(expr: str) -> str:
        return f"CASE WHEN {commitment_id} IS NULL THEN NULL ELSE {expr} END"

    # FOCUS: tax has no SKU; a price id has exactly one parent SKU (RateCode embeds it; a bare
    # RateId is numbered per SKU, so it is prefixed with it); price details need a price id.
    sku = "CASE WHEN lit_category <> 'Tax' THEN NULLIF(product_sku, '') END"
    sku_price = (f"CASE WHEN ({sku}) IS NOT NULL THEN coalesce(NULLIF(pricing_rate_code, ''), "
                 f"product_sku || '.' || NULLIF(pricing_rate_id, '')) END")
    region = "coalesce(product_region_code, product_region)"
    resource = unused_or(commitment_id, "NULLIF(line_item_resource_id, '')")

    bad_type = bad_input_sql(type_col, "'unknown line item type ' || coalesce('''' || __type || '''', 'NULL') || "
                                       + sql_str(f" (aispend maps: {', '.join(types)})"))

    return {
        "AvailabilityZone": "line_item_availability_zone",
        "BilledCost": unused_or("0", "__billed"),
        "BillingAccountId": "bill_payer_account_id",
        "BillingAccountName": "bill_payer_account_name",
        "BillingAccountType": "'Payer Account'",
        "BillingCurrency": currency_sql("line_item_currency_code", cur_col),
        "BillingPeriodEnd": "bill_billing_period_end_date",
        "BillingPeriodStart": "bill_billing_period_start_date",
        "ChargeCategory": unused_or("'Usage'", "lit_category"),
        "ChargeClass": unused_or("NULL", "lit_class"),
        "ChargeDescription": unused_or("'Unused commitment: ' || coalesce(line_item_line_item_description, '')",
                                       "line_item_line_item_description"),
        "ChargeFrequency": unused_or("'Usage-Based'", "lit_frequency"),
        "ChargePeriodEnd": "line_item_usage_end_date",
        "ChargePeriodStart": "line_item_usage_start_date",
        "CommitmentDiscountCategory": if_committed(f"CASE lit_commitment {commitment_category} END"),
        "CommitmentDiscountId": commitment_id,
        "CommitmentDiscountName": f"regexp_extract({commitment_id}, '[^/:]+$')",
        "CommitmentDiscountStatus": if_committed(unused_or("'Unused'", "lit_status")),
        "CommitmentDiscountType": if_committed(f"CASE lit_commitment {commitment_type} END"),
        "ConsumedQuantity": unused_or("NULL", "CASE WHEN __type IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage') "
                                      f"THEN CAST(line_item_usage_amount AS {DEC}) END"),
        "ConsumedUnit": unused_or("NULL", "CASE WHEN __type IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage') "
                                  f"THEN {unit_sql('pricing_unit')} END"),
        "ContractedCost": unused_or("0", "__billed"),
        "ContractedUnitPrice": unused_or("NULL", "line_item_unblended_rate"),
        "EffectiveCost": unused_or(unused_cost, effective),
        "InvoiceId": "NULLIF(bill_invoice_id, '')",
        # AWS issues the invoice for its own and for Marketplace charges alike.
        "InvoiceIssuerName": sql_str(PROVIDER),
        "ListCost": unused_or("0", f"coalesce(CAST(pricing_public_on_demand_cost AS {DEC}), __billed)"),
        "ListUnitPrice": unused_or("NULL", "pricing_public_on_demand_rate"),
        "PricingCategory": unused_or("'Committed'", pricing),
        # FOCUS: Tax has no pricing quantity; a quantity always has a unit.
        "PricingQuantity": unused_or("NULL", "CASE WHEN __type <> 'Tax' THEN line_item_usage_amount END"),
        "PricingUnit": unused_or("NULL", f"CASE WHEN __type <> 'Tax' AND line_item_usage_amount IS NOT NULL "
                                         f"THEN coalesce({unit_sql('pricing_unit')}, 'Units') END"),
        "ProviderName": sql_str(PROVIDER),
        "PublisherName": "CASE WHEN bill_billing_entity = 'AWS Marketplace' "
                         "THEN coalesce(line_item_legal_entity, 'AWS Marketplace') ELSE 'AWS' END",
        "RegionId": region,
        # A region always has a name: the export's location, else its id.
        "RegionName": f"CASE WHEN {region} IS NOT NULL THEN coalesce(NULLIF(product_location, ''), {region}) END",
        "ResourceId": resource,
        # The product family (Compute Instance, Storage...) names the kind of resource; a
        # commitment's own row is its commitment type.
        "ResourceType": (f"CASE WHEN ({resource}) IS NOT NULL THEN "
                         + unused_or(f"CASE lit_commitment {commitment_type} END",
                                     "coalesce(NULLIF(product_product_family, ''), line_item_product_code, 'AWS resource')")
                         + " END"),
        "ServiceCategory": f"coalesce(CASE line_item_product_code {services} END, 'Other')",
        # FOCUS string handling is ASCII: 'Red Hat® Enterprise Linux®' -> 'Red Hat Enterprise Linux'.
        # (strlen counts bytes, length characters: equal means ASCII, the common case, no regex.)
        "ServiceName": "CASE WHEN strlen(__service) = length(__service) THEN __service ELSE "
                       "regexp_replace(strip_accents(__service), '[^\\x00-\\x7F]', '', 'g') END",
        "ServiceSubcategory": f"coalesce(CASE line_item_product_code {subservices} END, 'Other (Other)')",
        "SkuId": sku,
        "SkuMeter": f"CASE WHEN ({sku}) IS NOT NULL THEN line_item_usage_type END",
        "SkuPriceDetails": f"CASE WHEN ({sku_price}) IS NOT NULL AND product_instance_type IS NOT NULL "
                           f"THEN to_json({{'InstanceType': product_instance_type}}) END",
        "SkuPriceId": sku_price,
        "SubAccountId": "line_item_usage_account_id",
        # A sub account always has a name: the export's, else its id (legacy CURs carry none).
        "SubAccountName": "CASE WHEN line_item_usage_account_id IS NOT NULL "
                          "THEN coalesce(NULLIF(line_item_usage_account_name, ''), line_item_usage_account_id) END",
        "SubAccountType": "'Linked Account'",
        "Tags": "__tags",
        "x_Source": sql_str(SOURCE),
        "x_SourceFile": "__file",
        "x_SourceRow": "__row",
        "x_ChargeType": f"CASE WHEN lit_type IS NOT NULL THEN __type ELSE {bad_type} END",
        "x_UsageType": "line_item_usage_type",
        "x_InstanceType": "product_instance_type",
    }


def unused_rows_sql() -> str:
    """Per source row, the list of variants to emit: [false] or, for a commitment fee with an
    unused part, [false, true]. Unnesting it keeps the whole job one pass over the input."""
    checks = " OR ".join(f"(__type = {sql_str(t)} AND ({UNUSED_COST[d.unused]}) <> 0)"
                         for t, d in LINE_ITEM_TYPES.items() if d.unused)
    return f"CASE WHEN {checks} THEN [false, true] ELSE [false] END"


def focus_query(mappings: list[FileMapping], streams: list[str | None] | None = None) -> str:
    """One SELECT producing FOCUS rows (contract columns, in order) from every file of a delivery
    (`streams`: registered Arrow readers to use instead of DuckDB's CSV reader, per file)."""
    streams = streams or [None] * len(mappings)
    union = " UNION ALL ".join(f"({typed_relation(m, s)})" for m, s in zip(mappings, streams))
    exprs = focus_expressions(mappings[0].source_names)
    files = {"x_SourceFile": [m.path.name for m in mappings]}
    return (f"SELECT {select_list(exprs, MAPPED_VALUES | files)} FROM "
            f"(SELECT *, unnest({unused_rows_sql()}) AS __unused FROM ({union}))")


LOOKUP_COLUMNS = {  # lit_* column -> LineItemType attribute, looked up once per row
    "lit_type": None, "lit_category": "charge_category", "lit_class": "charge_class",
    "lit_frequency": "charge_frequency", "lit_pricing": "pricing_category", "lit_commitment": "commitment",
    "lit_status": "commitment_status",
}


def line_item_lookup_sql() -> str:
    """LINE_ITEM_TYPES as one CASE per attribute (lit_type is NULL for an unknown type). CASE,
    not a join: with a stream of unknown size DuckDB may build the join's hash table on the
    stream, holding the whole export in memory (seen: out of memory at 5M rows)."""
    def case(attr):
        whens = " ".join(f"WHEN {sql_str(t)} THEN {_lit(t if attr is None else getattr(d, attr))}"
                         for t, d in LINE_ITEM_TYPES.items() if (t if attr is None else getattr(d, attr)))
        return f"CASE line_item_line_item_type {whens} END"
    return ", ".join(f"{case(attr)} AS {name}" for name, attr in LOOKUP_COLUMNS.items())


def typed_relation(mapping: FileMapping, stream: str | None = None) -> str:
    commitment_id = " ".join(f"WHEN {sql_str(k)} THEN {col}" for k, (col, _, _) in COMMITMENTS.items())
    return (f"SELECT *, CASE lit_commitment {commitment_id} END AS __commitment_id FROM ("
            f"SELECT *, line_item_line_item_type AS __type, "
            f"CAST(line_item_unblended_cost AS {DEC}) AS __billed, "
            f"coalesce(__product_name, product_servicename, line_item_product_code, 'AWS') AS __service, "
            f"{line_item_lookup_sql()} FROM ({mapping.relation(stream)}))")


def source_totals_sql(mapping: FileMapping) -> str:
    """The export's own total of unblended cost per billing period and currency, computed
    straight from the file (independently of the FOCUS mapping) for the conservation check."""
    return (f"SELECT strftime(CAST(bill_billing_period_start_date AS TIMESTAMPTZ), '%Y-%m') AS billing_period, "
            f"line_item_currency_code AS currency, sum(CAST(line_item_unblended_cost AS DECIMAL(38,18))) AS total "
            f"FROM ({mapping.relation(rows=False)}) GROUP BY ALL")


def delivery_totals_sql(mappings: list[FileMapping]) -> str:
    """The delivery's own totals: every file's, summed."""
    return summed_totals_sql([source_totals_sql(m) for m in mappings])


def billing_periods(mapping: FileMapping, con) -> list[str]:
    """The billing period(s) of an export, from its first row (a CUR file holds one period)."""
    import duckdb
    try:
        row = con.execute(f"SELECT bill_billing_period_start_date FROM ({mapping.relation()}) LIMIT 1").fetchone()
    except duckdb.IOException as exc:
        raise BadInputError(mapping.path.name, f"{str(exc).splitlines()[0]} (the file looks truncated or "
                                               f"corrupt; ask for a re-delivery)") from exc
    if row is None:
        raise BadInputError(mapping.path.name, "the export has a header but no line items")
    value = con.execute("SELECT strftime(TRY_CAST(? AS TIMESTAMPTZ), '%Y-%m')", [str(row[0])]).fetchone()[0]
    if value is None:
        raise BadInputError(mapping.path.name, f"value {row[0]!r} is not a date/time", 1,
                            mapping.source_names["bill_billing_period_start_date"])
    return [value]
