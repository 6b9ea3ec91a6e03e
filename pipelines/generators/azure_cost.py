"""A synthetic Azure Cost Management export (EA or MCA; actual or amortized cost), in DuckDB SQL.

Deterministic for a seed: the actual and amortized exports of one seed describe the same charges,
as Azure's two datasets do. What an AI-heavy Azure bill holds: ND H100 v5 and NC A100 v4 GPU VMs
(pay-as-you-go, Spot, reservation and savings plan covered), Azure OpenAI token meters, Azure
Machine Learning compute, storage, disks and bandwidth; reservation and savings plan purchases
and a refund (actual cost only), UnusedReservation / UnusedSavingsPlan rows (amortized only);
a Marketplace purchase; MCA tax and rounding adjustments; tags in several spellings (`team`,
`Team`, `owner-team`), written with and without braces, and untagged rows."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from . import connect

SUBSCRIPTIONS = ["5c0f4b51-0f6a-4e0e-9a8e-1a2b3c4d5e01", "5c0f4b51-0f6a-4e0e-9a8e-1a2b3c4d5e02",
                 "5c0f4b51-0f6a-4e0e-9a8e-1a2b3c4d5e03"]
TEAMS = ["ml-research", "ml-platform", "search", "ads", "data-eng"]
PROJECTS = ["llm-assistant", "recsys", "fraud-detection", "ranking"]
RI_ORDER = "7a1e2f30-0000-4000-8000-00000000a100"
RI_ID = "9b2c3d40-0000-4000-8000-00000000h100"
SP_ORDER = "3c4d5e60-0000-4000-8000-0000000000sp"
SP_ID = "4d5e6f70-0000-4000-8000-0000000000sp"
RI_BENEFIT = f"/providers/Microsoft.Capacity/reservationOrders/{RI_ORDER}/reservations/{RI_ID}"
SP_BENEFIT = f"/providers/Microsoft.BillingBenefits/savingsPlanOrders/{SP_ORDER}/savingsPlans/{SP_ID}"

# consumed service, meter category, subcategory, meter name, unit, payg price (USD), instance type,
# resource provider path, part number
CATALOGUE = [
    ("Microsoft.Compute", "Virtual Machines", "NDH100v5 Series", "ND96isr H100 v5", "1 Hour", "98.32",
     "Standard_ND96isr_H100_v5", "Microsoft.Compute/virtualMachines/gpu-h100-", "AAH-10001"),
    ("Microsoft.Compute", "Virtual Machines", "NCADS_A100_v4 Series", "NC24ads A100 v4", "1 Hour", "3.673",
     "Standard_NC24ads_A100_v4", "Microsoft.Compute/virtualMachines/gpu-a100-", "AAH-10002"),
    ("Microsoft.Compute", "Virtual Machines", "Dsv5 Series", "D4s v5", "1 Hour", "0.192",
     "Standard_D4s_v5", "Microsoft.Compute/virtualMachines/app-", "AAH-10003"),
    ("Microsoft.MachineLearningServices", "Virtual Machines", "NCADS_A100_v4 Series", "NC24ads A100 v4", "1 Hour",
     "3.673", "Standard_NC24ads_A100_v4", "Microsoft.MachineLearningServices/workspaces/aml-", "AAH-10004"),
    ("Microsoft.CognitiveServices", "Azure OpenAI", "Az-GPT-4o", "gpt-4o-0806-Inp-glbl Tokens", "1K", "0.0025",
     None, "Microsoft.CognitiveServices/accounts/aoai-", "AAH-10005"),
    ("Microsoft.CognitiveServices", "Azure OpenAI", "Az-GPT-4o", "gpt-4o-0806-Outp-glbl Tokens", "1K", "0.01",
     None, "Microsoft.CognitiveServices/accounts/aoai-", "AAH-10006"),
    ("Microsoft.CognitiveServices", "Azure OpenAI", "Az-Embeddings", "text-embedding-3-large Tokens", "1M", "0.13",
     None, "Microsoft.CognitiveServices/accounts/aoai-", "AAH-10007"),
    ("Microsoft.Storage", "Storage", "Premium Block Blob", "Hot LRS Data Stored", "1 GB/Month", "0.15",
     None, "Microsoft.Storage/storageAccounts/datalake", "AAH-10008"),
    ("Microsoft.Storage", "Storage", "Premium Block Blob", "Hot LRS Write Operations", "10K", "0.0228",
     None, "Microsoft.Storage/storageAccounts/datalake", "AAH-10009"),
    ("Microsoft.Compute", "Storage", "Premium SSD Managed Disks", "P30 LRS Disk", "1/Month", "122.88",
     None, "Microsoft.Compute/disks/osdisk-", "AAH-10010"),
    ("Microsoft.Network", "Bandwidth", "Inter-Region", "Intra Continent Data Transfer Out", "1 GB", "0.02",
     None, "Microsoft.Network/publicIPAddresses/pip-", "AAH-10011"),
]
H100, A100, D4 = 0, 1, 2

# Cumulative per-mille weights of row kinds (the rest is pay-as-you-go usage). Purchases and
# refunds are in the actual-cost export only, Unused rows in the amortized-cost export only.
KINDS = [("reserved", 150), ("savingsplan", 300), ("spot", 360), ("ri_purchase", 362), ("sp_purchase", 364),
         ("ri_refund", 365), ("unused_ri", 369), ("unused_sp", 373), ("marketplace", 376), ("tax", 380),
         ("rounding", 382)]
ACTUAL_ONLY = ("ri_purchase", "sp_purchase", "ri_refund")
AMORTIZED_ONLY = ("unused_ri", "unused_sp")
MCA_ONLY = ("tax", "rounding")  # EA invoices tax outside the cost export
FORMATS = ("ea-actual", "ea-amortized", "mca-actual", "mca-amortized", "focus")
CURRENCY = {"ea": ("EUR", "0.92"), "mca": ("GBP", "0.79")}  # billing currency, rate from USD


def _values(rows: list[tuple]) -> str:
    lit = lambda v: "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"  # noqa: E731
    return ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows)


def base_sql(rows: int, period: str, seed: int, account: str, dataset: str) -> str:
    """One row per charge, with neutral names; costs in billing currency as text."""
    start = dt.date.fromisoformat(period + "-01")
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    days = (end - start).days
    currency, rate = CURRENCY[account]
    kind_case = " ".join(f"WHEN k < {w} THEN '{name}'" for name, w in KINDS)
    dropped = ACTUAL_ONLY if dataset == "amortized" else AMORTIZED_ONLY
    dropped += () if account == "mca" else MCA_ONLY
    cat = _values([(i, *c) for i, c in enumerate(CATALOGUE)])
    amortized = "true" if dataset == "amortized" else "false"
    # EA leaves PayGPrice 0 on reservation rows (seen in real exports); UnitPrice is the EA price.
    ea = "true" if account == "ea" else "false"
    return f"""
WITH cat(ci, svc, mcat, msub, meter, unit, payg_usd, itype, rpath, part) AS (VALUES {cat}),
r AS (SELECT i, hash(i, {seed}) AS h FROM range({rows}) t(i)),
k AS (
  SELECT i, h, CAST(h % 1000 AS INTEGER) AS k, CAST((h >> 10) % {len(CATALOGUE)} AS INTEGER) AS ci0,
         CAST((h >> 20) % {days} AS INTEGER) AS day, ((h >> 25) % 24000 + 1) / 1000.0 AS hours,
         ((h >> 25) % 50000 + 1) / 10.0 AS blocks, CAST((h >> 45) % 8 AS INTEGER) AS tagpick,
         CAST((h >> 50) % 5 AS INTEGER) AS teampick
  FROM r
), kinds AS (
  SELECT *, CASE {kind_case} ELSE 'ondemand' END AS kind FROM k
), rows AS (
  SELECT kinds.*, cat.*,
    CASE WHEN kind IN ('ri_purchase', 'sp_purchase', 'ri_refund', 'marketplace', 'tax', 'rounding', 'unused_sp') THEN NULL
         WHEN cat.unit = '1 Hour' THEN hours WHEN cat.unit IN ('1K', '1M', '10K') THEN blocks
         ELSE round(blocks / 7, 3) END AS qty
  FROM kinds JOIN cat ON cat.ci = CASE WHEN kind IN ('reserved', 'unused_ri', 'ri_purchase', 'ri_refund') THEN {H100}
                                       WHEN kind IN ('savingsplan', 'unused_sp', 'sp_purchase') THEN CASE WHEN h % 2 = 0 THEN {A100} ELSE {D4} END
                                       WHEN kind = 'spot' THEN CASE WHEN h % 2 = 0 THEN {A100} ELSE {H100} END
                                       ELSE ci0 END
  WHERE kind NOT IN ({", ".join(f"'{d}'" for d in dropped)})
), priced AS (
  SELECT *,
    CAST(payg_usd AS DECIMAL(20,10)) * {rate} AS payg,
    CASE kind WHEN 'spot' THEN 0.3 WHEN 'reserved' THEN 0.45 WHEN 'unused_ri' THEN 0.45
              WHEN 'savingsplan' THEN 0.65 ELSE CASE WHEN {ea} THEN 0.9 ELSE 1 END END AS factor
  FROM rows
), costed AS (
  SELECT *,
    CAST(CASE kind
      WHEN 'ri_purchase' THEN 52000 + h % 5000
      WHEN 'sp_purchase' THEN 18000 + h % 2000
      WHEN 'ri_refund' THEN -(4000 + CAST(h % 1000 AS INTEGER))
      WHEN 'marketplace' THEN 1200 + h % 300
      WHEN 'tax' THEN 800 + (h % 10000) / 100.0
      WHEN 'rounding' THEN (CAST(h % 3 AS INTEGER) - 1) / 100.0
      WHEN 'unused_sp' THEN 15 + (h % 2000) / 100.0
      WHEN 'reserved' THEN CASE WHEN {amortized} THEN payg * factor * qty ELSE 0 END
      WHEN 'savingsplan' THEN CASE WHEN {amortized} THEN payg * factor * qty ELSE 0 END
      ELSE payg * factor * qty END AS DECIMAL(24,10)) AS cost,
    CASE WHEN kind IN ('ri_purchase', 'sp_purchase', 'ri_refund', 'marketplace') THEN
           CASE WHEN kind = 'ri_refund' THEN -1 ELSE 1 END END AS purchase_qty
  FROM priced
)
SELECT
  i, h, kind, svc, mcat, itype,
  CASE kind WHEN 'marketplace' THEN 'Databricks' WHEN 'tax' THEN 'Tax' WHEN 'rounding' THEN 'Rounding Adjustment' ELSE msub END AS msub,
  CASE kind WHEN 'marketplace' THEN 'Premium All-Purpose Compute DBU' WHEN 'tax' THEN 'VAT'
            WHEN 'rounding' THEN 'Rounding Adjustment' ELSE meter END AS meter,
  CASE WHEN kind IN ('marketplace', 'tax', 'rounding') THEN 'MP-' || kind ELSE part END AS part,
  teampick, tagpick, '{currency}' AS currency, {rate} AS rate,
  strftime(DATE '{start}' + INTERVAL (day) DAY, '%m/%d/%Y') AS date,
  '{start.strftime("%m/%d/%Y")}' AS bp_start,
  '{(end - dt.timedelta(days=1)).strftime("%m/%d/%Y")}' AS bp_end,
  ['{"','".join(SUBSCRIPTIONS)}'][1 + CAST((h >> 55) % {len(SUBSCRIPTIONS)} AS INTEGER)] AS sub,
  CASE kind WHEN 'ri_purchase' THEN 'Purchase' WHEN 'sp_purchase' THEN 'Purchase' WHEN 'marketplace' THEN 'Purchase'
            WHEN 'ri_refund' THEN 'Refund' WHEN 'unused_ri' THEN 'UnusedReservation' WHEN 'unused_sp' THEN 'UnusedSavingsPlan'
            WHEN 'tax' THEN 'Tax' WHEN 'rounding' THEN 'RoundingAdjustment' ELSE 'Usage' END AS charge_type,
  CASE WHEN kind IN ('reserved', 'unused_ri', 'ri_purchase', 'ri_refund') THEN 'Reservation'
       WHEN kind IN ('savingsplan', 'unused_sp', 'sp_purchase') THEN 'SavingsPlan'
       WHEN kind = 'spot' THEN 'Spot' WHEN kind IN ('tax', 'rounding') THEN NULL ELSE 'OnDemand' END AS pricing_model,
  CASE WHEN kind IN ('ri_purchase', 'sp_purchase', 'marketplace') THEN 'Recurring'
       WHEN kind IN ('ri_refund', 'tax', 'rounding') THEN 'OneTime' ELSE 'UsageBased' END AS frequency,
  CASE WHEN kind IN ('reserved', 'unused_ri', 'ri_purchase', 'ri_refund') THEN '{RI_ID}'
       WHEN kind IN ('savingsplan', 'unused_sp', 'sp_purchase') THEN '{SP_ID}' END AS reservation_id,
  CASE WHEN kind IN ('reserved', 'unused_ri', 'ri_purchase', 'ri_refund') THEN 'RI_ND96_H100_3yr'
       WHEN kind IN ('savingsplan', 'unused_sp', 'sp_purchase') THEN 'Compute_SavingsPlan_1yr' END AS reservation_name,
  CASE WHEN kind IN ('reserved', 'unused_ri', 'ri_purchase', 'ri_refund') THEN '{RI_BENEFIT}'
       WHEN kind IN ('savingsplan', 'unused_sp', 'sp_purchase') THEN '{SP_BENEFIT}' END AS benefit_id,
  CASE WHEN kind IN ('ri_purchase', 'ri_refund') THEN 'Microsoft.Capacity' WHEN kind = 'sp_purchase' THEN 'Microsoft.BillingBenefits'
       WHEN kind IN ('marketplace', 'tax', 'rounding') THEN NULL ELSE svc END AS consumed_service,
  CASE WHEN kind = 'marketplace' THEN 'SaaS' WHEN kind = 'tax' THEN 'Tax' WHEN kind = 'rounding' THEN 'Rounding Adjustment'
       ELSE mcat END AS meter_category,
  CASE WHEN kind = 'marketplace' THEN 'Databricks Lakehouse Platform - Premium' WHEN kind = 'tax' THEN 'VAT'
       WHEN kind = 'rounding' THEN 'Rounding Adjustment'
       WHEN kind IN ('ri_purchase', 'ri_refund') THEN 'Reserved VM Instance, Standard_ND96isr_H100_v5, East US, 3 Years'
       WHEN kind = 'sp_purchase' THEN 'Compute savings plan, 1 Year'
       ELSE meter || ' - ' || msub END AS product,
  CASE WHEN kind = 'marketplace' THEN 'Marketplace' ELSE 'Azure' END AS publisher_type,
  CASE WHEN kind = 'marketplace' THEN 'Databricks, Inc.' ELSE 'Microsoft' END AS publisher_name,
  CASE WHEN kind IN ('ri_purchase', 'sp_purchase', 'ri_refund') THEN '1 Hour'
       WHEN kind = 'marketplace' THEN '1/Month' WHEN kind IN ('tax', 'rounding') THEN NULL
       WHEN kind = 'unused_sp' THEN '1 Hour' ELSE unit END AS unit,
  CAST(CASE WHEN kind = 'unused_sp' THEN cost WHEN qty IS NOT NULL THEN qty ELSE purchase_qty END AS VARCHAR) AS quantity,
  cost,
  CAST(CASE WHEN kind IN ('tax', 'rounding') THEN NULL WHEN kind IN ('ri_purchase', 'sp_purchase', 'ri_refund', 'marketplace') THEN abs(cost)
            WHEN kind = 'unused_sp' THEN 1 WHEN kind IN ('reserved', 'savingsplan') AND NOT {amortized} THEN 0
            ELSE round(payg * factor, 10) END AS DECIMAL(24,10)) AS effective_price,
  CAST(CASE WHEN kind IN ('tax', 'rounding') THEN NULL WHEN kind IN ('ri_purchase', 'sp_purchase', 'ri_refund', 'marketplace') THEN abs(cost)
            WHEN kind = 'unused_sp' THEN 1 WHEN kind = 'spot' THEN round(payg * factor, 10)
            ELSE round(payg * CASE WHEN {ea} THEN 0.9 ELSE 1 END, 10) END AS DECIMAL(24,10)) AS unit_price,
  CAST(CASE WHEN kind IN ('tax', 'rounding') THEN NULL
            WHEN kind IN ('ri_purchase', 'sp_purchase', 'ri_refund', 'unused_sp', 'unused_ri') THEN 0
            WHEN {ea} AND kind = 'reserved' THEN 0
            WHEN kind = 'marketplace' THEN abs(cost) WHEN kind = 'spot' THEN round(payg * factor, 10)
            ELSE payg END AS DECIMAL(24,10)) AS payg_price,
  CASE WHEN itype IS NOT NULL AND kind NOT IN ('ri_purchase', 'sp_purchase', 'ri_refund', 'marketplace', 'tax', 'rounding', 'unused_sp', 'unused_ri')
       THEN '{{"ServiceType":"' || itype || '","VCPUs":' || (CASE WHEN itype LIKE '%H100%' THEN 96 ELSE 24 END) || '}}' END AS additional_info,
  CASE WHEN kind IN ('marketplace', 'tax', 'rounding', 'ri_purchase', 'sp_purchase', 'ri_refund', 'unused_sp') THEN NULL
       ELSE '/subscriptions/' || ['{"','".join(SUBSCRIPTIONS)}'][1 + CAST((h >> 55) % {len(SUBSCRIPTIONS)} AS INTEGER)]
            || '/resourceGroups/rg-' || ['{"','".join(TEAMS)}'][1 + teampick] || '/providers/' || rpath
            || CASE WHEN right(rpath, 1) = '-' THEN CAST(h % 7 AS VARCHAR) ELSE '' END END AS resource_id,
  'rg-' || ['{"','".join(TEAMS)}'][1 + teampick] AS resource_group,
  CASE WHEN kind IN ('tax', 'rounding') THEN NULL ELSE 'eastus' END AS location,
  -- tags: one team key in one of three spellings, sometimes none; braces or not (both seen)
  CASE WHEN kind IN ('tax', 'rounding', 'ri_purchase', 'sp_purchase', 'ri_refund') OR tagpick >= 6 THEN NULL ELSE
    list_aggregate(list_filter([
      CASE WHEN tagpick IN (0, 1) THEN '"team": "' || ['{"','".join(TEAMS)}'][1 + teampick] || '"' END,
      CASE WHEN tagpick = 2 THEN '"Team": "' || upper(['{"','".join(TEAMS)}'][1 + teampick]) || '"' END,
      CASE WHEN tagpick = 3 THEN '"owner-team": " ' || ['{"','".join(TEAMS)}'][1 + teampick] || ' "' END,
      CASE WHEN tagpick < 5 THEN '"project": "' || ['{"','".join(PROJECTS)}'][1 + CAST((h >> 58) % {len(PROJECTS)} AS INTEGER)] || '"' END,
      CASE WHEN itype LIKE '%H100%' OR itype LIKE '%A100%' THEN '"gpu-cluster": "gpu-shared-1"' END,
      '"env": "prod"'], lambda t: t IS NOT NULL), 'string_agg', ',') END AS tags_body
FROM costed
"""


# Real exports write some costs with long fractions (prorated and amortized charges: EA samples
# 0.4838709677419368 and 28-digit amortized costs, koku's MCA sample 0.000000144000000000000000):
# about a quarter of the rows in the shared samples have more than 12 fraction digits, so a
# quarter of the generated costs carry 24 (same value: trailing zeros).
LONG_COST = "CASE WHEN (h >> 20) % 4 = 0 THEN CAST(CAST(cost AS DECIMAL(38,24)) AS VARCHAR) ELSE CAST(cost AS VARCHAR) END"

# Export columns, in the order Azure writes them: header -> expression over base_sql().
EA_COLUMNS = {
    "BillingAccountId": "'8611537'", "BillingAccountName": "'Contoso AI (EA)'",
    "BillingPeriodStartDate": "bp_start", "BillingPeriodEndDate": "bp_end",
    "BillingProfileId": "'8611537'", "BillingProfileName": "'Contoso AI (EA)'",
    "AccountOwnerId": "'finops@contoso.example'", "AccountName": "'AI Platform'",
    "SubscriptionId": "sub", "SubscriptionName": "'sub-' || right(sub, 2)", "Date": "date",
    "Product": "product", "PartNumber": "part", "MeterId": "md5(meter || msub)", "ServiceFamily": "'Compute'",
    "MeterCategory": "meter_category", "MeterSubCategory": "msub", "MeterRegion": "'US East'", "MeterName": "meter",
    "Quantity": "quantity", "EffectivePrice": "effective_price", "CostInBillingCurrency": LONG_COST,
    "UnitPrice": "unit_price", "BillingCurrency": "currency", "ResourceLocation": "location",
    "AvailabilityZone": "NULL", "ConsumedService": "consumed_service", "ResourceId": "resource_id",
    "ResourceName": "CASE WHEN resource_id IS NOT NULL THEN string_split(resource_id, '/')[-1] END",
    "ServiceInfo1": "NULL", "ServiceInfo2": "NULL", "AdditionalInfo": "additional_info",
    # EA exports write tags without braces; a few arrive with them (both seen in the wild)
    "Tags": "CASE WHEN (h >> 40) % 5 = 0 THEN '{' || tags_body || '}' ELSE tags_body END",
    "InvoiceSectionId": "NULL", "InvoiceSection": "'AI'", "CostCenter": "'CC-4711'",
    "UnitOfMeasure": "unit", "ResourceGroup": "resource_group", "ReservationId": "reservation_id",
    "ReservationName": "reservation_name", "ProductOrderId": "NULL", "ProductOrderName": "NULL",
    "OfferId": "'MS-AZR-0017P'", "IsAzureCreditEligible": "'True'", "Term": "NULL",
    "PublisherName": "publisher_name", "PlanName": "NULL", "ChargeType": "charge_type", "Frequency": "frequency",
    "PublisherType": "publisher_type", "PayGPrice": "payg_price", "PricingModel": "pricing_model",
    "CostAllocationRuleName": "NULL", "benefitId": "benefit_id", "benefitName": "reservation_name",
}
MCA_COLUMNS = {
    "invoiceId": "'G0' || '12345678'", "previousInvoiceId": "NULL",
    "billingAccountId": "'a1b2c3d4-0000-5000-8000-000000000mca:e5f6_2019-05-31'", "billingAccountName": "'Contoso AI'",
    "billingProfileId": "'AB12-CD34-EF5-GH6'", "billingProfileName": "'Contoso AI UK'",
    "invoiceSectionId": "'IJ78-KL90-MN1-OP2'", "invoiceSectionName": "'AI Platform'",
    "billingPeriodStartDate": "bp_start", "billingPeriodEndDate": "bp_end",
    "servicePeriodStartDate": "bp_start", "servicePeriodEndDate": "bp_end", "date": "date",
    "serviceFamily": "'Compute'", "productOrderId": "NULL", "productOrderName": "'Azure plan'",
    "consumedService": "consumed_service", "meterId": "md5(meter || msub)", "meterName": "meter",
    "meterCategory": "meter_category", "meterSubCategory": "msub", "meterRegion": "'US East'",
    "ProductId": "part", "product": "product", "subscriptionId": "sub", "subscriptionName": "'sub-' || right(sub, 2)",
    "publisherType": "publisher_type", "publisherName": "publisher_name", "resourceGroupName": "resource_group",
    "ResourceId": "resource_id", "resourceLocation": "location",
    "location": "CASE WHEN location IS NOT NULL THEN 'US East' END",
    "effectivePrice": "round(effective_price / rate, 10)", "quantity": "quantity", "unitOfMeasure": "unit",
    "chargeType": "charge_type", "billingCurrency": "currency", "pricingCurrency": "'USD'",
    "costInBillingCurrency": LONG_COST, "costInPricingCurrency": "round(cost / rate, 10)",
    "costInUsd": "round(cost / rate, 10)",
    "paygCostInBillingCurrency": "CASE WHEN quantity IS NOT NULL THEN round(payg_price * CAST(quantity AS DECIMAL(24,10)), 10) END",
    "paygCostInUsd": "CASE WHEN quantity IS NOT NULL THEN round(payg_price / rate * CAST(quantity AS DECIMAL(24,10)), 10) END",
    "exchangeRatePricingToBilling": "rate", "exchangeRateDate": "bp_start", "isAzureCreditEligible": "'True'",
    "serviceInfo1": "NULL", "serviceInfo2": "NULL", "additionalInfo": "additional_info",
    # MCA exports write tags as a JSON object
    "tags": "CASE WHEN tags_body IS NOT NULL THEN '{' || tags_body || '}' END",
    "PayGPrice": "round(payg_price / rate, 10)", "frequency": "frequency", "term": "NULL",
    "reservationId": "reservation_id", "reservationName": "reservation_name", "pricingModel": "pricing_model",
    "unitPrice": "round(unit_price / rate, 10)", "benefitId": "benefit_id", "benefitName": "reservation_name",
}


def generate(out: Path, rows: int, period: str, seed: int = 42, fmt: str = "ea-actual",
             progress: bool = False) -> Path:
    """Write a synthetic Azure cost export as CSV: fmt is `<ea|mca>-<actual|amortized>`, or `focus`
    (Cost Management's FOCUS export of the MCA month). The two datasets of one (rows, period,
    seed, account) describe the same charges."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    if fmt == "focus":
        return _focus_export(Path(out), rows, period, seed)
    account, dataset = fmt.split("-")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    con = connect(progress)
    columns = EA_COLUMNS if account == "ea" else MCA_COLUMNS
    select = ", ".join(f'CAST({expr} AS VARCHAR) AS "{name}"' for name, expr in columns.items())
    target = str(out).replace("'", "''")
    con.execute(f"COPY (SELECT {select} FROM ({base_sql(rows, period, seed, account, dataset)}) ORDER BY i) "
                f"TO '{target}' (FORMAT csv, HEADER)")
    return out


def _focus_export(out: Path, rows: int, period: str, seed: int) -> Path:
    """The FOCUS export Azure would write for the MCA month: FOCUS columns (ISO 8601 UTC dates,
    JSON tags) and some of Microsoft's x_ columns. Made by converting the month's actual and
    amortized exports with aispend's own mapping (the generator has no second FOCUS mapping)."""
    import tempfile

    from normalizers.focus_contract import COLUMNS, DATETIME
    from normalizers.normalize import normalize
    with tempfile.TemporaryDirectory() as tmp:
        src = [generate(Path(tmp) / f"{d}.csv", rows, period, seed, f"mca-{d}") for d in ("actual", "amortized")]
        normalize("azure-cost", src, Path(tmp) / "focus")
        part = str(Path(tmp) / "focus" / "*" / "*.parquet").replace("'", "''")  # every period, every file
        cols = ", ".join(f"strftime({c.name}, '%Y-%m-%dT%H:%M:%SZ') AS {c.name}" if c.sql_type == DATETIME
                         else c.name for c in COLUMNS)
        con = connect()
        out.parent.mkdir(parents=True, exist_ok=True)
        target = str(out).replace("'", "''")
        con.execute(f"COPY (SELECT {cols}, x_UsageType AS x_SkuMeterSubcategory, x_ChargeType AS x_SkuChargeType, "
                    f"'AB12-CD34-EF5-GH6' AS x_BillingProfileId FROM read_parquet('{part}') ORDER BY x_SourceFile, x_SourceRow) "
                    f"TO '{target}' (FORMAT csv, HEADER)")
    return out
