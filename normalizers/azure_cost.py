"""Azure Cost Management exports (EA and MCA; actual-cost and amortized-cost datasets) -> FOCUS 1.2.

Headers are looked up case-insensitively (`CostInBillingCurrency`, `costInBillingCurrency`, EA's
old `Cost` / `PreTaxCost`): every header is put into one canonical name per concept (COLUMNS),
and the mapping below is written once, against those names.

Azure's own FOCUS export (FocusCost) is read as it is: its columns already have FOCUS names.

For Cost Management exports, the mapping follows Microsoft's own FOCUS conversion: amortized
rows, plus the actual-cost purchase and refund rows of reservations and savings plans.
- BilledCost is the actual-cost perspective: usage covered by a commitment (and the unused part of
  a commitment) is 0, since its cost was billed by the purchase. In an actual-cost file that usage
  already costs 0, so one rule serves both datasets.
- EffectiveCost is the cost (amortized data carries the amortized cost), except commitment purchases
  and refunds: 0, their cost reaches EffectiveCost through covered usage and the Unused rows.
- A delivery holding both datasets of a month keeps the amortized file whole and, from the actual
  file, only the commitment purchases and refunds (which amortized data leaves out); amortized
  commitment purchases, should a file carry them, give way to the actual ones (never counted twice).
- ListUnitPrice is PayGPrice (UnitPrice where Azure leaves it 0, as EA does on reservation rows),
  in billing currency; ListCost and ContractedCost are unit price x Quantity, so FOCUS's rule
  unit price x PricingQuantity = cost holds exactly (Azure's rounded paygCostInBillingCurrency
  would not: it is PayGPrice x Quantity before rounding).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInputError
from .focus_contract import COLUMNS as FOCUS_COLUMNS, DATETIME, DECIMAL, JSON, MAPPED_VALUES, select_list, utc
from .sources import bad_input_sql, currency_sql, decimal_sql, raw_relation, read_header, sql_ident, sql_str, summed_totals_sql

SOURCE = "azure-cost"
PROVIDER = "Microsoft"
DEC = "DECIMAL(38,12)"

# canonical name -> header names (lower case) that mean it, in order of preference.
COLUMNS: dict[str, tuple[str, ...]] = {
    "cost": ("costinbillingcurrency", "cost", "pretaxcost"),
    "currency": ("billingcurrency", "billingcurrencycode", "currency"),
    "date": ("date", "usagedatetime", "usagedate"),
    "billing_period_start": ("billingperiodstartdate",),
    "billing_period_end": ("billingperiodenddate",),
    "billing_account_id": ("billingaccountid",),
    "billing_account_name": ("billingaccountname",),
    "subscription_id": ("subscriptionid", "subscriptionguid"),
    "subscription_name": ("subscriptionname",),
    "invoice_id": ("invoiceid",),
    "charge_type": ("chargetype",),
    "pricing_model": ("pricingmodel",),
    "frequency": ("frequency",),
    "quantity": ("quantity",),
    "unit": ("unitofmeasure",),
    "effective_price": ("effectiveprice", "resourcerate"),
    "unit_price": ("unitprice",),
    "payg_price": ("paygprice",),
    "exchange_rate": ("exchangeratepricingtobilling",),
    "pricing_currency": ("pricingcurrency", "pricingcurrencycode"),
    "cost_in_pricing": ("costinpricingcurrency",),
    "meter_id": ("meterid",),
    "meter_name": ("metername",),
    "meter_category": ("metercategory",),
    "meter_subcategory": ("metersubcategory",),
    "product": ("productname", "product"),
    "product_id": ("productid",),
    "part_number": ("partnumber",),
    "consumed_service": ("consumedservice",),
    "resource_id": ("resourceid", "instancename"),
    "resource_name": ("resourcename",),
    "resource_location": ("resourcelocation",),
    "location": ("location",),
    "availability_zone": ("availabilityzone",),
    "tags": ("tags",),
    "additional_info": ("additionalinfo",),
    "reservation_id": ("reservationid",),
    "reservation_name": ("reservationname",),
    "benefit_id": ("benefitid",),
    "benefit_name": ("benefitname",),
    "publisher_type": ("publishertype",),
    "publisher_name": ("publishername",),
}
# Must be in every export (named as in today's exports when missing).
REQUIRED = {"cost": "CostInBillingCurrency", "currency": "BillingCurrency", "date": "Date"}
NUMERIC = ("cost", "cost_in_pricing", "quantity", "effective_price", "unit_price", "payg_price", "exchange_rate",
           *(c.name for c in FOCUS_COLUMNS if c.sql_type == DECIMAL))

# Azure's own FOCUS export (Cost Management "FocusCost" dataset): FOCUS names already, read as
# they are (any case), checked and typed like every other source; a few x_ columns kept.
FOCUS_REQUIRED = ("BilledCost", "EffectiveCost", "BillingCurrency", "BillingPeriodStart", "ChargeCategory")
FOCUS_EXTRAS = {"x_skumetersubcategory": "x_UsageType"}
TIMESTAMPS = ()  # Azure writes MM/DD/YYYY; dates are checked in SQL (see _date), not by a plain cast


@dataclass(frozen=True)
class ChargeType:
    charge_category: str
    charge_class: str | None = None
    status: str | None = None          # CommitmentDiscountStatus when the row has a commitment
    frequency: str | None = None       # when Azure's Frequency column says nothing usable


# The whole ChargeType mapping. A refund is a correction of the charge it refunds; Azure does
# not say which, and refunds are of commitment purchases, so: Purchase.
CHARGE_TYPES: dict[str, ChargeType] = {
    "Usage": ChargeType("Usage", status="Used", frequency="Usage-Based"),
    "Purchase": ChargeType("Purchase", frequency="One-Time"),
    "Refund": ChargeType("Purchase", charge_class="Correction", frequency="One-Time"),
    "Tax": ChargeType("Tax", frequency="Recurring"),
    "UnusedReservation": ChargeType("Usage", status="Unused", frequency="Usage-Based"),
    "UnusedSavingsPlan": ChargeType("Usage", status="Unused", frequency="Usage-Based"),
    "RoundingAdjustment": ChargeType("Adjustment", frequency="One-Time"),
}
PRICING_MODELS = {"OnDemand": "Standard", "Reservation": "Committed", "SavingsPlan": "Committed",
                  "Spot": "Dynamic"}
FREQUENCIES = {"UsageBased": "Usage-Based", "Recurring": "Recurring", "OneTime": "One-Time"}
COMMITMENTS = {  # kind -> FOCUS category, type
    "SavingsPlan": ("Spend", "Savings Plan"),
    "Reservation": ("Usage", "Reservation"),
}

# ConsumedService (lower case) -> ServiceName, ServiceCategory, ServiceSubcategory, as in the
# FinOps toolkit's Services table; MeterCategory wins where it names a more precise service.
SERVICES: dict[str, tuple[str, str, str]] = {
    "microsoft.compute": ("Virtual Machines", "Compute", "Virtual Machines"),
    "microsoft.classiccompute": ("Cloud Services", "Compute", "Virtual Machines"),
    "microsoft.containerservice": ("Azure Kubernetes Service", "Compute", "Containers"),
    "microsoft.containerinstance": ("Container Instances", "Compute", "Containers"),
    "microsoft.containerregistry": ("Container Registry", "Compute", "Containers"),
    "microsoft.web": ("App Service", "Web", "Application Platforms"),
    "microsoft.batch": ("Batch", "Compute", "Virtual Machines"),
    "microsoft.storage": ("Storage Accounts", "Storage", "Storage Platforms"),
    "microsoft.netapp": ("Azure NetApp Files", "Storage", "File Storage"),
    "microsoft.recoveryservices": ("Backup", "Storage", "Backup Storage"),
    "microsoft.cognitiveservices": ("Azure AI Services", "AI and Machine Learning", "AI Platforms"),
    "microsoft.machinelearningservices": ("Azure Machine Learning", "AI and Machine Learning", "Machine Learning"),
    "microsoft.search": ("Azure AI Search", "AI and Machine Learning", "AI Platforms"),
    "microsoft.botservice": ("Azure AI Bot Service", "AI and Machine Learning", "Bots"),
    "microsoft.databricks": ("Azure Databricks", "Analytics", "Data Processing"),
    "microsoft.synapse": ("Azure Synapse Analytics", "Analytics", "Analytics Platforms"),
    "microsoft.datafactory": ("Azure Data Factory", "Integration", "Workflow Orchestration"),
    "microsoft.eventhub": ("Event Hubs", "Integration", "Messaging"),
    "microsoft.servicebus": ("Service Bus", "Integration", "Messaging"),
    "microsoft.apimanagement": ("API Management", "Integration", "API Management"),
    "microsoft.sql": ("Azure SQL Database", "Databases", "Relational Databases"),
    "microsoft.dbformysql": ("Azure DB for MySQL", "Databases", "Relational Databases"),
    "microsoft.dbforpostgresql": ("Azure DB for PostgreSQL", "Databases", "Relational Databases"),
    "microsoft.documentdb": ("Azure Cosmos DB", "Databases", "NoSQL Databases"),
    "microsoft.cache": ("Azure Cache for Redis", "Databases", "Caching"),
    "microsoft.network": ("Virtual Network", "Networking", "Network Infrastructure"),
    "microsoft.cdn": ("Content Delivery Network", "Networking", "Content Delivery"),
    "microsoft.keyvault": ("Key Vault", "Security", "Secret Management"),
    "microsoft.security": ("Microsoft Defender for Cloud", "Security", "Security Posture Management"),
    "microsoft.operationalinsights": ("Azure Monitor", "Management and Governance", "Observability"),
    "microsoft.insights": ("Azure Monitor", "Management and Governance", "Observability"),
    "microsoft.capacity": ("Azure Reservations", "Management and Governance", "Cost Management"),
    "microsoft.billingbenefits": ("Azure Savings Plan for Compute", "Compute", "Other (Compute)"),
}
METER_CATEGORIES: dict[str, tuple[str, str, str]] = {
    "Azure OpenAI": ("Azure OpenAI", "AI and Machine Learning", "Generative AI"),
    "Azure Machine Learning": ("Azure Machine Learning", "AI and Machine Learning", "Machine Learning"),
}

# Azure UnitOfMeasure -> FOCUS Unit Format (block sizes kept: Azure's Quantity counts blocks).
PRICING_UNITS = {
    "1": "Units", "1 Hour": "Hours", "1 Hours": "Hours", "1 hour": "Hours", "1/Hour": "Hours",
    "1 /Hour": "Hours", "10 Hours": "10 Hours", "100 Hours": "100 Hours", "1000 Hours": "1000 Hours",
    "1 Day": "Days", "1/Day": "Days", "1 /Day": "Days", "1 Month": "Months", "1/Month": "Months",
    "1 /Month": "Months", "1/Year": "Years", "1 /Year": "Years", "1 Minute": "Minutes",
    "1 Second": "Seconds", "1 GB": "GB", "1 TB": "TB", "1 MB": "MB", "1 GiB": "GiB", "1 TiB": "TiB",
    "1 GB/Month": "GB-Months", "1 GiB/Month": "GiB-Months", "1 TB/Month": "TB-Months",
    "1 TiB/Month": "TiB-Months", "1 MB/Month": "MB-Months", "1 GB/Day": "GB-Days", "1 GB/Hour": "GB-Hours",
    "1 GiB/Hour": "GiB-Hours", "1 GB Hour": "GB-Hours", "1 GiB Hour": "GiB-Hours", "1 GB Second": "GB-Seconds",
    "10": "10 Units", "100": "100 Units", "1000": "1000 Units", "10000": "10000 Units",
    "100000": "100000 Units", "1000000": "1000000 Units", "100000000": "100000000 Units",
    "1K": "1000 Units", "10K": "10000 Units", "100K": "100000 Units", "1M": "1000000 Units",
    "10M": "10000000 Units", "1B": "1000000000 Units", "1K Tokens": "1000 Tokens", "1M Tokens": "1000000 Tokens",
    "1 Count": "Count", "1 Unit": "Units", "1 Units": "Units", "Units": "Units", "Unit": "Units",
    "1 User": "Users", "1 Users": "Users", "Unassigned": "Units", "0 Unassigned": "Units",
}
# A unit not listed: kept if it already has FOCUS's shape ("5 GB", "Requests", "GB/Hour"), else Units.
FOCUS_UNIT_SHAPE = r"([0-9]+ )?[A-Za-z][A-Za-z0-9 ]*(/(Year|Month|Day|Hour|Minute|Second))?"


def unit_sql(column: str) -> str:
    known = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in PRICING_UNITS.items())
    bare = f"trim(CASE WHEN starts_with({column}, '1 ') THEN {column}[3:] ELSE {column} END)"
    return (f"CASE {column} {known} ELSE CASE WHEN regexp_full_match({bare}, {sql_str(FOCUS_UNIT_SHAPE)}) "
            f"THEN {bare} ELSE 'Units' END END")


class FileMapping:
    """Which concepts one export file has, and the header names it gives them."""

    def __init__(self, path: Path):
        self.path = path
        header = read_header(path)
        by_lower: dict[str, int] = {}
        for position, name in enumerate(header):
            by_lower.setdefault(name.strip().lower(), position)
        self.renames: dict[int, str] = {}
        self.source_names: dict[str, str] = {}  # canonical -> name as in the file
        self.header = header
        self.focus = {"billedcost", "chargecategory", "billingperiodstart"} <= set(by_lower)
        if self.focus:
            wanted = {c.name.lower(): c.name for c in FOCUS_COLUMNS} | FOCUS_EXTRAS
            for lower, position in by_lower.items():
                if lower in wanted:
                    self.renames[position] = wanted[lower]
                    self.source_names[wanted[lower]] = header[position]
            missing = [c for c in FOCUS_REQUIRED if c not in self.source_names]
            if missing:
                raise BadInputError(path.name, f"missing required FOCUS column(s): {', '.join(missing)}",
                                    column=missing[0])
            return
        for canon, aliases in COLUMNS.items():
            position = next((by_lower[a] for a in aliases if a in by_lower), None)
            if position is not None:
                self.renames[position] = canon
                self.source_names[canon] = header[position]
        missing = [REQUIRED[c] for c in REQUIRED if c not in self.source_names]
        if missing:
            raise BadInputError(path.name, f"missing required Azure cost column(s): {', '.join(missing)} "
                                           f"(is this an Azure Cost Management export?)", column=missing[0])
        self.header = header

    def relation(self, stream: str | None = None, rows: bool = True) -> str:
        inner = raw_relation(self.path, self.header, self.renames, stream, rows)
        if stream is None and "read_csv(" in inner:
            # Azure files mix \r\n and \n line ends (seen in koku's MCA sample): DuckDB's strict
            # reader rejects them; Arrow's (the normalizer's fast path) does not.
            inner = inner.replace("null_padding=true", "null_padding=true, strict_mode=false")
            assert "strict_mode" in inner
        names = [c.name for c in FOCUS_COLUMNS] + list(FOCUS_EXTRAS.values()) if self.focus else list(COLUMNS)
        cols = [sql_ident(c) if c in self.source_names else f"CAST(NULL AS VARCHAR) AS {sql_ident(c)}"
                for c in names]
        return f"SELECT __row, {sql_str(self.path.name)} AS __file, {', '.join(cols)} FROM ({inner})"

    @property
    def amortized(self) -> bool:
        """An amortized-cost file: it has Unused rows or commitment-covered usage that costs
        something (in actual-cost data that usage costs 0). Only asked for mixed deliveries."""
        stat = self.path.stat()
        return _is_amortized(self.path, stat.st_size, stat.st_mtime_ns, tuple(self.header))


@functools.lru_cache(maxsize=64)
def _is_amortized(path: Path, size: int, mtime: int, header: tuple[str, ...]) -> bool:
    import duckdb
    m = FileMapping(path)
    con = duckdb.connect()
    return bool(con.execute(
        f"SELECT count(*) FILTER (WHERE {_commitment_usage(CHARGE_TYPE, 'pricing_model')} "
        f"AND coalesce(TRY_CAST(cost AS {DEC}), 0) <> 0) > 0 FROM ({m.relation(rows=False)})").fetchone()[0])


CHARGE_TYPE = "coalesce(NULLIF(charge_type, ''), 'Usage')"  # old exports have no ChargeType: all usage


def _commitment_usage(charge_type: str, pricing_model: str) -> str:
    """SQL: the row is usage covered by a commitment, or a commitment's unused part."""
    return (f"({charge_type} IN ('UnusedReservation', 'UnusedSavingsPlan') OR "
            f"({charge_type} = 'Usage' AND {pricing_model} IN ('Reservation', 'SavingsPlan')))")


def _case(column: str, values: dict[str, str | None]) -> str:
    whens = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in values.items() if v is not None)
    return f"CASE {column} {whens} END"



def _date(mapping: FileMapping, canon: str) -> str:
    """MM/DD/YYYY (EA, MCA) or ISO 8601 text -> TIMESTAMP in UTC (the session time zone, see
    normalize.connect); a value that is neither is bad input. Plain TIMESTAMP, made TIMESTAMPTZ
    by focus_contract.utc last: adding a day or a month to a TIMESTAMPTZ goes through ICU (3x)."""
    raw = f"NULLIF(trim(CAST({canon} AS VARCHAR)), '')"
    parsed = (f"CASE WHEN contains({raw}, '/') THEN try_strptime({raw}, ['%m/%d/%Y', '%m/%d/%Y %H:%M:%S', "
              f"'%m/%d/%Y %I:%M:%S %p']) ELSE CAST(TRY_CAST({raw} AS TIMESTAMPTZ) AS TIMESTAMP) END")
    name = mapping.source_names.get(canon, canon)
    bad = bad_input_sql(name, f"'value ''' || {raw} || ''' is not a date (expected MM/DD/YYYY or YYYY-MM-DD)'")
    # The two shapes exports write, tried as written first: trimming every value cost more than
    # parsing it (0.11 -> 0.05 CPU s per 1M values).
    fast = f"coalesce(try_strptime({canon}, '%m/%d/%Y'), try_strptime({canon}, '%Y-%m-%d'))"
    return f"CASE WHEN {fast} IS NOT NULL THEN {fast} WHEN {raw} IS NULL THEN NULL ELSE coalesce({parsed}, {bad}) END"


def _times(a: str, b: str) -> str:
    """SQL: a x b for two DECIMAL(38,12) values, as DECIMAL(38,12). DuckDB multiplies to scale 24
    and rounds back on 128-bit integers (0.6 CPU s per 1M rows); when both are exact at 6 fraction
    digits (checked: through DOUBLE and back, compared) the product of DECIMAL(18,6)s already has
    scale 12, so nothing is rounded: same value, 7x cheaper. Otherwise the plain product."""
    six = lambda x: f"CAST(CAST({x} AS DOUBLE) AS DECIMAL(18,6))"  # noqa: E731
    return (f"CASE WHEN abs({a}) < 1e9 AND abs({b}) < 1e9 AND {six(a)} = {a} AND {six(b)} = {b} "
            f"THEN CAST({six(a)} * {six(b)} AS {DEC}) ELSE CAST({a} * {b} AS {DEC}) END")


def _service(field: int) -> str:
    """SQL: field 0/1/2 (name, category, subcategory) of the row's service, or NULL if unknown."""
    by_meter = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v[field])}" for k, v in METER_CATEGORIES.items())
    by_service = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v[field])}" for k, v in SERVICES.items())
    return f"coalesce(CASE meter_category {by_meter} END, CASE lower(consumed_service) {by_service} END)"


def typed_relation(mapping: FileMapping, stream: str | None = None, keep: str = "true") -> str:
    """The file's rows with the values the mapping needs computed once (`keep`: which rows of the
    file the delivery uses)."""
    names = mapping.source_names
    d = decimal_sql
    # Prices to billing currency: no product where the rate is 1 or absent (EA), as a DECIMAL(38,12)
    # product costs as much as parsing the price.
    billing = ((lambda p: f"CASE WHEN __rate = 1 THEN {p} ELSE CAST({p} * __rate AS {DEC}) END")
               if "exchange_rate" in names else (lambda p: p))
    raw_tags = "NULLIF(trim(tags), '')"
    tags_text = f"CASE WHEN starts_with({raw_tags}, '{{') THEN {raw_tags} ELSE '{{' || {raw_tags} || '}}' END"
    bad_tags = bad_input_sql(names.get("tags", "Tags"), "'tags are not a JSON object: ' || left(tags, 80)")
    # TRY_CAST validates and keeps the text as it is (spaces and all, still one JSON object);
    # minifying it with json() cost as much again (0.47 -> 0.22 CPU s per 1M rows). An empty
    # object is no tags; only short texts can be one, so only they are parsed for it. Kept as JSON
    # so that the FOCUS select list's cast to JSON does not parse it again. (A memo.py function
    # per distinct cell was measured no faster here: its call costs as much.)
    valid = f"coalesce(TRY_CAST({tags_text} AS JSON), {bad_tags})"
    tags = (f"CASE WHEN {raw_tags} IS NULL THEN NULL "
            f"WHEN strlen({raw_tags}) < 16 AND len(json_keys({valid})) = 0 THEN NULL ELSE {valid} END")
    info = "NULLIF(trim(additional_info), '')"
    return f"""
SELECT *,
  CASE WHEN __charge_type = 'Purchase' OR __charge_type = 'Refund' THEN __commitment_id IS NOT NULL END AS __commitment_purchase
FROM (
SELECT *,
  {CHARGE_TYPE} AS __charge_type,
  CASE WHEN {_commitment_usage(CHARGE_TYPE, 'pricing_model')} THEN 0 ELSE __cost END AS __billed,
  {_date(mapping, 'date')} AS __date,
  {_date(mapping, 'billing_period_start')} AS __bp_start,
  {_date(mapping, 'billing_period_end')} AS __bp_end,
  CASE WHEN pricing_model = 'SavingsPlan' OR charge_type = 'UnusedSavingsPlan' OR contains(lower(benefit_id), 'savingsplan')
       THEN 'SavingsPlan'
       WHEN pricing_model = 'Reservation' OR charge_type = 'UnusedReservation' OR NULLIF(benefit_id, '') IS NOT NULL
         OR NULLIF(reservation_id, '') IS NOT NULL THEN 'Reservation' END AS __commitment_kind,
  CASE WHEN pricing_model IN ('Reservation', 'SavingsPlan') OR charge_type IN ('UnusedReservation', 'UnusedSavingsPlan', 'Purchase', 'Refund')
       THEN coalesce(NULLIF(benefit_id, ''), NULLIF(reservation_id, '')) END AS __commitment_id,
  {d('quantity')} AS __quantity,
  {billing("coalesce(NULLIF(__payg, 0), NULLIF(__unit, 0), __eff, 0)")} AS __list_price,
  {billing("coalesce(__unit, __eff, 0)")} AS __contracted_price,
  {tags} AS __tags,
  CASE WHEN __provider_path IS NOT NULL
       THEN split_part(__provider_path, '/', 1) || '/' || split_part(__provider_path, '/', 2) END AS __resource_type,
  CASE WHEN starts_with({info}, '{{') AND json_valid({info}) THEN json_extract_string({info}, '$.ServiceType') END AS __instance_type,
  {_service(0)} AS __known_service,
  {_service(1)} AS __category,
  {_service(2)} AS __subcategory
FROM (SELECT *, {d('cost')} AS __cost, {d('cost_in_pricing') if 'cost_in_pricing' in names else 'NULL'} AS __cost_pricing,
  {d('payg_price')} AS __payg, {d('unit_price')} AS __unit, {d('effective_price')} AS __eff,
  coalesce({d('exchange_rate')}, 1) AS __rate,
  -- the resource type comes after the last /providers/ (a nested resource has several)
  CASE WHEN contains(__rid_lower, '/providers/') THEN string_split(__rid_lower, '/providers/')[-1] END AS __provider_path
  FROM (SELECT *, lower(NULLIF(resource_id, '')) AS __rid_lower FROM ({mapping.relation(stream)})))
) WHERE {keep}"""


def focus_expressions(source_names: dict[str, str]) -> dict[str, str]:
    """FOCUS column -> SQL expression over typed_relation()."""
    types = CHARGE_TYPES
    category = _case("__charge_type", {t: c.charge_category for t, c in types.items()})
    cur_col = source_names.get("currency", "BillingCurrency")
    type_col = source_names.get("charge_type", "ChargeType")
    bad_type = bad_input_sql(type_col, "'unknown charge type ' || coalesce('''' || __charge_type || '''', 'NULL') || "
                                       + sql_str(f" (aispend maps: {', '.join(types)})"))
    committed = "__commitment_id IS NOT NULL"
    no_tax = "__charge_type <> 'Tax'"
    consumed = "__charge_type = 'Usage'"
    frequency = (f"CASE WHEN {category} = 'Purchase' AND coalesce(frequency, '') IN ('', 'UsageBased') THEN 'One-Time' "
                 f"ELSE coalesce({_case('frequency', FREQUENCIES)}, "
                 f"{_case('__charge_type', {t: c.frequency for t, c in types.items()})}) END")
    sku = "coalesce(NULLIF(product_id, ''), NULLIF(part_number, ''), NULLIF(meter_id, ''))"
    region = "CASE WHEN NULLIF(resource_location, '') IS NOT NULL AND resource_location <> 'Unassigned' THEN resource_location END"
    service = "coalesce(__known_service, NULLIF(consumed_service, ''), NULLIF(meter_category, ''), 'Microsoft Azure')"
    return {
        "AvailabilityZone": "NULLIF(availability_zone, '')",
        "BilledCost": "__billed",
        "BillingAccountId": "coalesce(NULLIF(billing_account_id, ''), subscription_id)",
        "BillingAccountName": "coalesce(NULLIF(billing_account_name, ''), subscription_name)",
        "BillingAccountType": "'Billing Account'",
        "BillingCurrency": currency_sql("currency", cur_col),
        # Azure's BillingPeriodEndDate is the last day of the period; FOCUS's end is exclusive.
        "BillingPeriodEnd": utc("coalesce(__bp_end + INTERVAL 1 DAY, date_trunc('month', __date) + INTERVAL 1 MONTH)"),
        "BillingPeriodStart": utc("coalesce(__bp_start, date_trunc('month', __date))"),
        "ChargeCategory": f"CASE WHEN {category} IS NOT NULL THEN {category} ELSE {bad_type} END",
        "ChargeClass": _case("__charge_type", {t: c.charge_class for t, c in types.items()}),
        "ChargeDescription": "coalesce(NULLIF(product, ''), NULLIF(meter_name, ''))",
        "ChargeFrequency": frequency,
        "ChargePeriodEnd": utc("__date + INTERVAL 1 DAY"),
        "ChargePeriodStart": utc("__date"),
        "CommitmentDiscountCategory": f"CASE WHEN {committed} THEN {_case('__commitment_kind', {k: v[0] for k, v in COMMITMENTS.items()})} END",
        "CommitmentDiscountId": "__commitment_id",
        "CommitmentDiscountName": f"CASE WHEN {committed} THEN coalesce(NULLIF(benefit_name, ''), NULLIF(reservation_name, '')) END",
        "CommitmentDiscountStatus": f"CASE WHEN {committed} THEN {_case('__charge_type', {t: c.status for t, c in types.items()})} END",
        "CommitmentDiscountType": f"CASE WHEN {committed} THEN {_case('__commitment_kind', {k: v[1] for k, v in COMMITMENTS.items()})} END",
        "ConsumedQuantity": f"CASE WHEN {consumed} THEN __quantity END",
        "ConsumedUnit": f"CASE WHEN {consumed} AND __quantity IS NOT NULL THEN {unit_sql('unit')} END",
        "ContractedCost": f"CASE WHEN {no_tax} AND __quantity IS NOT NULL THEN {_times('__contracted_price', '__quantity')} ELSE __cost END",
        "ContractedUnitPrice": f"CASE WHEN {no_tax} AND __quantity IS NOT NULL THEN __contracted_price END",
        "EffectiveCost": "CASE WHEN __commitment_purchase THEN 0 ELSE __cost END",
        "InvoiceId": "NULLIF(invoice_id, '')",
        # Microsoft invoices Marketplace charges too (they are on the Azure invoice).
        "InvoiceIssuerName": sql_str(PROVIDER),
        "ListCost": f"CASE WHEN {no_tax} AND __quantity IS NOT NULL THEN {_times('__list_price', '__quantity')} ELSE __cost END",
        "ListUnitPrice": f"CASE WHEN {no_tax} AND __quantity IS NOT NULL THEN __list_price END",
        "PricingCategory": f"CASE WHEN {no_tax} THEN coalesce({_case('pricing_model', PRICING_MODELS)}, "
                           f"CASE WHEN {committed} AND __charge_type NOT IN ('Purchase', 'Refund') THEN 'Committed' END, 'Standard') END",
        "PricingQuantity": f"CASE WHEN {no_tax} THEN __quantity END",
        "PricingUnit": f"CASE WHEN {no_tax} AND __quantity IS NOT NULL THEN coalesce({unit_sql('unit')}, 'Units') END",
        "ProviderName": sql_str(PROVIDER),
        "PublisherName": "CASE WHEN publisher_type = 'Marketplace' THEN coalesce(NULLIF(publisher_name, ''), 'Azure Marketplace') "
                         "ELSE 'Microsoft' END",
        "RegionId": f"lower(replace({region}, ' ', ''))",
        "RegionName": f"coalesce(NULLIF(location, ''), {region})",
        "ResourceId": "NULLIF(resource_id, '')",
        "ResourceName": "coalesce(NULLIF(resource_name, ''), CASE WHEN NULLIF(resource_id, '') IS NOT NULL "
                        "THEN string_split(resource_id, '/')[-1] END)",
        # An id without a provider path (a scrubbed or subscription-level id): the consuming service.
        "ResourceType": "CASE WHEN NULLIF(resource_id, '') IS NOT NULL THEN coalesce(__resource_type, "
                        "NULLIF(consumed_service, ''), NULLIF(meter_category, ''), 'Azure resource') END",
        "ServiceCategory": "coalesce(__category, 'Other')",
        # FOCUS string handling is ASCII (strlen counts bytes, length characters: equal means ASCII).
        "ServiceName": f"CASE WHEN strlen({service}) = length({service}) THEN {service} ELSE "
                       f"regexp_replace(strip_accents({service}), '[^\\x00-\\x7F]', '', 'g') END",
        "ServiceSubcategory": "coalesce(__subcategory, 'Other (Other)')",
        "SkuId": f"CASE WHEN {no_tax} THEN {sku} END",
        "SkuMeter": f"CASE WHEN {no_tax} AND {sku} IS NOT NULL THEN NULLIF(meter_name, '') END",
        "SkuPriceDetails": f"CASE WHEN {no_tax} AND {sku} IS NOT NULL AND __instance_type IS NOT NULL "
                           f"THEN to_json({{'InstanceType': __instance_type}}) END",
        # Azure prices a meter per SKU: (SKU, meter) names one price, and has one parent SKU.
        "SkuPriceId": f"CASE WHEN {no_tax} THEN {sku} || coalesce('/' || NULLIF(meter_id, ''), '') END",
        "SubAccountId": "NULLIF(subscription_id, '')",
        "SubAccountName": "CASE WHEN NULLIF(subscription_id, '') IS NOT NULL "
                          "THEN coalesce(NULLIF(subscription_name, ''), subscription_id) END",
        "SubAccountType": "CASE WHEN NULLIF(subscription_id, '') IS NOT NULL THEN 'Subscription' END",
        "Tags": "__tags",
        "x_Source": sql_str(SOURCE),
        "x_SourceFile": "__file",
        "x_SourceRow": "__row",
        "x_ChargeType": "__charge_type",
        "x_UsageType": "NULLIF(meter_subcategory, '')",
        "x_InstanceType": "__instance_type",
    } | _pricing_currency(source_names, no_tax)


def _pricing_currency(source_names: dict[str, str], no_tax: str) -> dict[str, str]:
    """MCA prices in a pricing currency (USD) and bills in another at exchangeRatePricingToBilling:
    its prices as written and costInPricingCurrency are the pricing-currency columns. An export
    without them (EA) prices in its billing currency (focus_contract.PRICED_IN_BILLING_CURRENCY)."""
    if not {"pricing_currency", "cost_in_pricing"} <= set(source_names):
        return {}
    priced = f"{no_tax} AND __quantity IS NOT NULL"
    return {
        "PricingCurrency": currency_sql("pricing_currency", source_names["pricing_currency"]),
        "PricingCurrencyEffectiveCost": "CASE WHEN __commitment_purchase THEN 0 ELSE __cost_pricing END",
        "PricingCurrencyContractedUnitPrice": f"CASE WHEN {priced} THEN coalesce(__unit, __eff, 0) END",
        "PricingCurrencyListUnitPrice": f"CASE WHEN {priced} THEN coalesce(NULLIF(__payg, 0), NULLIF(__unit, 0), __eff, 0) END",
    }


def focus_export_expressions(mapping: FileMapping) -> dict[str, str]:
    """FOCUS column -> SQL over a FOCUS export's relation: typed, empty text as NULL, JSON and
    currency checked (a bad value names its row and column), ServiceName ASCII."""
    out = {}
    for col in FOCUS_COLUMNS:
        name, q = col.name, sql_ident(col.name)
        where = mapping.source_names.get(name, name)
        if col.sql_type == DECIMAL:
            out[name] = f"CAST(NULLIF(CAST({q} AS VARCHAR), '') AS {DEC})"
        elif col.sql_type == DATETIME:
            out[name] = utc(_date(mapping, name))
        elif col.sql_type == JSON:
            text = f"NULLIF(trim(CAST({q} AS VARCHAR)), '')"
            bad = bad_input_sql(where, f"'not a JSON object: ' || left({text}, 80)")
            out[name] = f"CASE WHEN {text} IS NULL THEN NULL WHEN json_valid({text}) THEN NULLIF(json({text}), '{{}}') ELSE {bad} END"
        else:
            out[name] = f"NULLIF(CAST({q} AS VARCHAR), '')"
    out["BillingCurrency"] = currency_sql("BillingCurrency", mapping.source_names["BillingCurrency"])
    out["ServiceName"] = ("CASE WHEN strlen(ServiceName) = length(ServiceName) THEN ServiceName ELSE "
                          "regexp_replace(strip_accents(ServiceName), '[^\\x00-\\x7F]', '', 'g') END")
    return out | {"x_Source": sql_str(SOURCE), "x_SourceFile": "__file", "x_SourceRow": "__row",
                  "x_UsageType": "NULLIF(x_UsageType, '')"}


def focus_query(mappings: list[FileMapping], streams: list[str | None] | None = None) -> str:
    """One SELECT producing FOCUS rows from every file of a delivery. With both datasets in the
    delivery: the amortized files, plus the commitment purchases and refunds of the actual files."""
    streams = streams or [None] * len(mappings)
    files = {"x_SourceFile": [m.path.name for m in mappings]}
    if any(m.focus for m in mappings):
        if not all(m.focus for m in mappings):
            raise BadInputError(", ".join(m.path.name for m in mappings),
                                "a delivery mixes Azure's FOCUS export with Cost Management exports; deliver one")
        union = " UNION ALL ".join(f"({m.relation(s)})" for m, s in zip(mappings, streams))
        return f"SELECT {select_list(focus_export_expressions(mappings[0]), files)} FROM ({union})"
    kinds = [m.amortized for m in mappings] if len(mappings) > 1 else [None]
    keep = {True: "NOT coalesce(__commitment_purchase, false)", False: "coalesce(__commitment_purchase, false)"}
    if len(set(kinds)) < 2:  # one dataset: every row
        kinds, keep = [None] * len(mappings), {None: "true"}
    union = " UNION ALL ".join(f"({typed_relation(m, s, keep[k])})" for m, s, k in zip(mappings, streams, kinds))
    return f"SELECT {select_list(focus_expressions(mappings[0].source_names), MAPPED_VALUES | files)} FROM ({union})"


def source_totals_sql(mapping: FileMapping) -> str:
    """The file's own billed total per billing period and currency, straight from its columns:
    every row's cost, except usage covered by a commitment and a commitment's unused part (which
    amortized data prices, and the commitment's purchase bills). A FOCUS export: its BilledCost."""
    if mapping.focus:
        return (f"SELECT strftime({_date(mapping, 'BillingPeriodStart')}, '%Y-%m') AS billing_period, "
                f"BillingCurrency AS currency, sum(CAST(BilledCost AS DECIMAL(38,18))) AS total "
                f"FROM ({mapping.relation(rows=False)}) GROUP BY ALL")
    period = f"strftime(coalesce({_date(mapping, 'billing_period_start')}, date_trunc('month', {_date(mapping, 'date')})), '%Y-%m')"
    return (f"SELECT {period} AS billing_period, currency, "
            f"sum(CASE WHEN {_commitment_usage(CHARGE_TYPE, 'pricing_model')} "
            f"THEN 0 ELSE CAST(cost AS DECIMAL(38,18)) END) AS total "
            f"FROM ({mapping.relation(rows=False)}) GROUP BY ALL")


def delivery_totals_sql(mappings: list[FileMapping]) -> str:
    """source_totals_sql for a whole delivery: with both datasets of a month, the actual file's
    total (the invoice) stands for both (summing the files' own totals would count it twice)."""
    kinds = [m.amortized for m in mappings] if len(mappings) > 1 and not mappings[0].focus else [False]
    if len(set(kinds)) > 1:
        mappings = [m for m, amortized in zip(mappings, kinds) if not amortized]
    return summed_totals_sql([source_totals_sql(m) for m in mappings])


def billing_periods(mapping: FileMapping, con) -> list[str]:
    """The billing period(s) of an export, from its first row."""
    import duckdb
    try:
        start = (_date(mapping, "BillingPeriodStart") if mapping.focus else
                 f"coalesce({_date(mapping, 'billing_period_start')}, date_trunc('month', {_date(mapping, 'date')}))")
        row = con.execute(f"SELECT strftime({start}, '%Y-%m') FROM ({mapping.relation()}) LIMIT 1").fetchone()
    except duckdb.IOException as exc:
        raise BadInputError(mapping.path.name, f"{str(exc).splitlines()[0]} (the file looks truncated or "
                                               f"corrupt; ask for a re-delivery)") from exc
    except duckdb.Error as exc:
        from .normalize import _BAD_INPUT
        m = _BAD_INPUT.search(str(exc))
        if m:
            raise BadInputError(m.group(1), m.group(4).strip(), int(m.group(2)), m.group(3)) from exc
        raise
    if row is None:
        raise BadInputError(mapping.path.name, "the export has a header but no line items")
    if row[0] is None:
        column = mapping.source_names["BillingPeriodStart" if mapping.focus else "date"]
        raise BadInputError(mapping.path.name, "the first row has no date", 1, column)
    return [row[0]]
