"""The FOCUS 1.2 contract: one table of columns that the writers, the DuckDB checks and the
pandera schema are all generated from. Source: the FOCUS 1.2 specification's column pages."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .currencies import ISO_4217

FOCUS_VERSION = "1.2"

# Costs are exact decimals. 38 digits with 12 after the point keeps every digit AWS prints
# (up to ~1e-12) while leaving 26 integer digits, so sums never overflow.
DECIMAL = "DECIMAL(38,12)"
STRING = "VARCHAR"
DATETIME = "TIMESTAMP WITH TIME ZONE"
JSON = "JSON"

SERVICE_CATEGORIES = (
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
    "Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things",
    "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security",
    "Storage", "Web", "Other",
)

_SUBCATEGORIES = {
    "AI and Machine Learning": ["AI Platforms", "Bots", "Generative AI", "Machine Learning",
                                "Natural Language Processing"],
    "Analytics": ["Analytics Platforms", "Business Intelligence", "Data Processing", "Search",
                  "Streaming Analytics"],
    "Business Applications": ["Productivity and Collaboration"],
    "Compute": ["Containers", "End User Computing", "Quantum Compute", "Serverless Compute",
                "Virtual Machines"],
    "Databases": ["Caching", "Data Warehouses", "Ledger Databases", "NoSQL Databases",
                  "Relational Databases", "Time Series Databases"],
    "Developer Tools": ["Developer Platforms", "Continuous Integration and Deployment",
                        "Development Environments", "Source Code Management", "Quality Assurance"],
    "Identity": ["Identity and Access Management"],
    "Integration": ["API Management", "Messaging", "Workflow Orchestration"],
    "Internet of Things": ["IoT Analytics", "IoT Platforms"],
    "Management and Governance": ["Architecture", "Compliance", "Cost Management",
                                  "Data Governance", "Disaster Recovery", "Endpoint Management",
                                  "Observability", "Support"],
    "Media": ["Content Creation", "Gaming", "Media Streaming", "Mixed Reality"],
    "Migration": ["Data Migration", "Resource Migration"],
    "Mobile": [],
    "Multicloud": ["Multicloud Integration"],
    "Networking": ["Application Networking", "Content Delivery", "Network Connectivity",
                   "Network Infrastructure", "Network Routing", "Network Security"],
    "Security": ["Secret Management", "Security Posture Management",
                 "Threat Detection and Response"],
    "Storage": ["Backup Storage", "Block Storage", "File Storage", "Object Storage",
                "Storage Platforms"],
    "Web": ["Application Platforms"],
    "Other": [],
}
# Every category also has "Other (<category>)".
SERVICE_SUBCATEGORIES = {
    cat: tuple(subs) + (f"Other ({cat})",) for cat, subs in _SUBCATEGORIES.items()
}

ALLOWED_VALUES: dict[str, tuple[str, ...]] = {
    "ChargeCategory": ("Usage", "Purchase", "Tax", "Credit", "Adjustment"),
    "ChargeClass": ("Correction",),
    "ChargeFrequency": ("One-Time", "Recurring", "Usage-Based"),
    "PricingCategory": ("Standard", "Dynamic", "Committed", "Other"),
    "CommitmentDiscountStatus": ("Used", "Unused"),
    "CommitmentDiscountCategory": ("Spend", "Usage"),
    "CapacityReservationStatus": ("Used", "Unused"),
    "ServiceCategory": SERVICE_CATEGORIES,
    "ServiceSubcategory": tuple(s for subs in SERVICE_SUBCATEGORIES.values() for s in subs),
}


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    feature_level: str  # Mandatory, Conditional, Recommended
    nullable: bool

    @property
    def allowed_values(self) -> tuple[str, ...] | None:
        return ALLOWED_VALUES.get(self.name)

    @property
    def is_cost(self) -> bool:
        return self.sql_type == DECIMAL

    def written(self, expression: str, values: Iterable[str] | None = None) -> str:
        """SQL for the column as a FOCUS file stores it. A JSON column (KeyValueFormat) is checked
        by the cast to JSON and stored as plain UTF-8 text: Parquet's JSON annotation is read as
        Binary by Polars, and so by the official focus-validator, which then finds no valid JSON.
        A text column whose every value is in `values`, or that is one string literal, goes
        through a DuckDB ENUM (see MAPPED_VALUES)."""
        if self.sql_type == JSON:
            return f"CAST(CAST({expression} AS JSON) AS VARCHAR)"
        if self.sql_type == STRING and values is None and _LITERAL.fullmatch(expression.strip()):
            values = [expression.strip()[1:-1].replace("''", "'")]
        if self.sql_type == STRING and values is not None:
            return f"CAST({expression} AS {_enum(values)})"
        return f"CAST({expression} AS {self.sql_type})"


M, C, R = "Mandatory", "Conditional", "Recommended"

# (name, type, feature level, nulls allowed) for the 57 FOCUS 1.2 Cost and Usage columns.
COLUMNS: tuple[Column, ...] = tuple(Column(*c) for c in [
    ("AvailabilityZone", STRING, R, True),
    ("BilledCost", DECIMAL, M, False),
    ("BillingAccountId", STRING, M, False),
    ("BillingAccountName", STRING, M, True),
    ("BillingAccountType", STRING, C, True),
    ("BillingCurrency", STRING, M, False),
    ("BillingPeriodEnd", DATETIME, M, False),
    ("BillingPeriodStart", DATETIME, M, False),
    ("CapacityReservationId", STRING, C, True),
    ("CapacityReservationStatus", STRING, C, True),
    ("ChargeCategory", STRING, M, False),
    ("ChargeClass", STRING, M, True),
    ("ChargeDescription", STRING, M, True),
    ("ChargeFrequency", STRING, R, False),
    ("ChargePeriodEnd", DATETIME, M, False),
    ("ChargePeriodStart", DATETIME, M, False),
    ("CommitmentDiscountCategory", STRING, C, True),
    ("CommitmentDiscountId", STRING, C, True),
    ("CommitmentDiscountName", STRING, C, True),
    ("CommitmentDiscountQuantity", DECIMAL, C, True),
    ("CommitmentDiscountStatus", STRING, C, True),
    ("CommitmentDiscountType", STRING, C, True),
    ("CommitmentDiscountUnit", STRING, C, True),
    ("ConsumedQuantity", DECIMAL, C, True),
    ("ConsumedUnit", STRING, C, True),
    ("ContractedCost", DECIMAL, M, False),
    ("ContractedUnitPrice", DECIMAL, C, True),
    ("EffectiveCost", DECIMAL, M, False),
    ("InvoiceId", STRING, R, True),
    ("InvoiceIssuerName", STRING, M, False),
    ("ListCost", DECIMAL, M, False),
    ("ListUnitPrice", DECIMAL, C, True),
    ("PricingCategory", STRING, C, True),
    ("PricingCurrency", STRING, C, True),
    ("PricingCurrencyContractedUnitPrice", DECIMAL, C, True),
    ("PricingCurrencyEffectiveCost", DECIMAL, C, True),
    ("PricingCurrencyListUnitPrice", DECIMAL, C, True),
    ("PricingQuantity", DECIMAL, M, True),
    ("PricingUnit", STRING, M, True),
    ("ProviderName", STRING, M, False),
    ("PublisherName", STRING, M, False),
    ("RegionId", STRING, C, True),
    ("RegionName", STRING, C, True),
    ("ResourceId", STRING, C, True),
    ("ResourceName", STRING, C, True),
    ("ResourceType", STRING, C, True),
    ("ServiceCategory", STRING, M, False),
    ("ServiceName", STRING, M, False),
    ("ServiceSubcategory", STRING, R, False),
    ("SkuId", STRING, C, True),
    ("SkuMeter", STRING, C, True),
    ("SkuPriceDetails", JSON, C, True),
    ("SkuPriceId", STRING, C, True),
    ("SubAccountId", STRING, C, True),
    ("SubAccountName", STRING, C, True),
    ("SubAccountType", STRING, C, True),
    ("Tags", JSON, C, True),
])
BY_NAME = {c.name: c for c in COLUMNS}

# Columns every aispend FOCUS file carries beyond the spec (FOCUS requires the x_ prefix).
EXTRA_COLUMNS: tuple[Column, ...] = (
    Column("x_Source", STRING, "aispend", False),       # source module, e.g. aws-cur
    Column("x_SourceFile", STRING, "aispend", False),   # file name the row came from
    Column("x_SourceRow", "BIGINT", "aispend", False),  # 1-based data row in that file
)
# Provider-specific x_ columns a normalizer may add (NULL where a source has none), so every
# partition has one schema and the warehouse view needs no per-provider handling.
OPTIONAL_EXTRA_COLUMNS: tuple[Column, ...] = (
    Column("x_ChargeType", STRING, "aispend", True),    # the provider's own charge type
    Column("x_UsageType", STRING, "aispend", True),
    Column("x_InstanceType", STRING, "aispend", True),
    Column("x_Credits", JSON, "aispend", True),        # GCP: the row's credits [{type, name, amount}]
    # Expenses: the detected export format, the card statement descriptor (else the merchant),
    # the merchant category code, and who / which department spent, as exported.
    Column("x_ExpenseFormat", STRING, "aispend", True),
    Column("x_MerchantDescriptor", STRING, "aispend", True),
    Column("x_Mcc", STRING, "aispend", True),
    Column("x_Employee", STRING, "aispend", True),
    Column("x_Department", STRING, "aispend", True),
    Column("x_ExpenseCategory", STRING, "aispend", True),  # the tool's expense type / category
    Column("x_ExpenseId", STRING, "aispend", True),        # its report or transaction id
)
ALL_COLUMNS = COLUMNS + EXTRA_COLUMNS + OPTIONAL_EXTRA_COLUMNS
COST_COLUMNS = tuple(c.name for c in COLUMNS if c.name in
                     ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"))


# A source that maps no pricing currency of its own prices in its billing currency: every source
# but Azure MCA exports (whose prices are in a pricing currency with an exchange rate). FOCUS
# then has the pricing-currency columns repeat the billing-currency ones (a present column must
# be filled: PricingCurrencyEffectiveCost-C-003-M).
PRICED_IN_BILLING_CURRENCY = {"PricingCurrency": "BillingCurrency", "PricingCurrencyEffectiveCost": "EffectiveCost",
                              "PricingCurrencyContractedUnitPrice": "ContractedUnitPrice",
                              "PricingCurrencyListUnitPrice": "ListUnitPrice"}


# Text columns that a mapping fills from its own tables only (never with a value copied from the
# input) may be written through a DuckDB ENUM of the values they can take: the Parquet writer
# then takes each value's index in the ENUM instead of hashing its text (a constant text column
# cost 40 ms of CPU per 1M rows to write, as an ENUM 2 ms; over a dozen such columns, the `aispend
# normalize` of a 1M-row GCP Parquet export went from 3.8 to 3.7 s, Azure's within noise). The
# file holds the same UTF-8 strings. A value outside its ENUM fails the write, so only values a
# mapping cannot get wrong go this way: the allowed values of the FOCUS columns that have them
# (tests/test_mapped_values.py checks every mapping table against them) and currency codes that
# currency_sql has checked in the same expression.
MAPPED_VALUES: dict[str, tuple[str, ...]] = {
    **ALLOWED_VALUES, "BillingCurrency": tuple(sorted(ISO_4217)), "PricingCurrency": tuple(sorted(ISO_4217))}
_LITERAL = re.compile(r"'(?:[^']|'')*'")


def utc(timestamp: str) -> str:
    """A plain TIMESTAMP expression, read as UTC, as the TIMESTAMP WITH TIME ZONE a FOCUS file
    stores. Same value as a CAST in the UTC session (normalize.connect), but the CAST goes through
    ICU's calendar for every value (80 ns; 0.3 s of CPU per 1M Azure rows over its four datetime
    columns) where the epoch in microseconds is taken as is."""
    return f"make_timestamptz(epoch_us({timestamp}))"


def _enum(values: Iterable[str]) -> str:
    return "ENUM(" + ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(set(values))) + ")"


def select_list(expressions: dict[str, str], values: Mapping[str, Iterable[str]] | None = None) -> str:
    """Build the SELECT list of a FOCUS file from {column: SQL expression}, in contract order,
    cast to contract types (Column.written); a column a source has no value for is a typed NULL,
    the pricing-currency ones default to their billing-currency columns. `values`: for some text
    columns, every value their expression can give (e.g. MAPPED_VALUES, the delivery's file names
    for x_SourceFile): they are written through an ENUM."""
    values = values or {}
    unknown = set(expressions) - {c.name for c in ALL_COLUMNS}
    if unknown:
        raise ValueError(f"not FOCUS or aispend columns: {sorted(unknown)}")

    def expression(name: str) -> str:
        if name not in expressions and name in PRICED_IN_BILLING_CURRENCY:
            return expressions.get(PRICED_IN_BILLING_CURRENCY[name], "NULL")
        return expressions.get(name, "NULL")
    return ",\n  ".join(f'{c.written(expression(c.name), values.get(c.name))} AS "{c.name}"' for c in ALL_COLUMNS)
