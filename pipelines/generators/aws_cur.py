"""A synthetic AWS CUR, generated in DuckDB SQL so that millions of rows take seconds.

Deterministic for a seed: every value comes from hash(row, seed). It holds what an AI-heavy
AWS bill holds: p4d/p5/g5 GPU instances (on-demand, Spot, Savings Plan and RI covered), Bedrock
token usage types, SageMaker training and hosting, S3, data transfer, RDS and Lambda; Savings
Plan and RI fees, credits, refunds, tax and EDP/bundled/private-rate discounts; tags in several
spellings (`team`, `Team`, `owner-team`) and untagged rows."""
from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path

from . import connect

PAYER = "111122223333"
ACCOUNTS = ["111122223333", "444455556666", "777788889999"]
TEAMS = ["ml-research", "ml-platform", "search", "ads", "data-eng"]
PROJECTS = ["llm-assistant", "recsys", "fraud-detection", "ranking"]
SP_ARNS = ["arn:aws:savingsplans::111122223333:savingsplan/3f1a2b4c-sp-compute-1",
           "arn:aws:savingsplans::111122223333:savingsplan/9e8d7c6b-sp-compute-2"]
RI_ARNS = ["arn:aws:ec2:us-east-1:111122223333:reserved-instances/ri-p4d-0001",
           "arn:aws:ec2:us-east-1:111122223333:reserved-instances/ri-m5-0002"]

# product code, product name, usage type, operation, instance type, unit, on-demand rate, spot?
CATALOGUE = [
    ("AmazonEC2", "Amazon Elastic Compute Cloud", "USE1-BoxUsage:p4d.24xlarge", "RunInstances", "p4d.24xlarge", "Hrs", "32.7726", False),
    ("AmazonEC2", "Amazon Elastic Compute Cloud", "USE1-BoxUsage:p5.48xlarge", "RunInstances", "p5.48xlarge", "Hrs", "98.32", False),
    ("AmazonEC2", "Amazon Elastic Compute Cloud", "USE1-BoxUsage:g5.xlarge", "RunInstances", "g5.xlarge", "Hrs", "1.006", False),
    ("AmazonEC2", "Amazon Elastic Compute Cloud", "USE1-BoxUsage:g5.12xlarge", "RunInstances", "g5.12xlarge", "Hrs", "5.672", False),
    ("AmazonEC2", "Amazon Elastic Compute Cloud", "USE1-SpotUsage:g5.2xlarge", "RunInstances:SV001", "g5.2xlarge", "Hrs", "0.4540", True),
    ("AmazonEC2", "Amazon Elastic Compute Cloud", "USE1-BoxUsage:m5.xlarge", "RunInstances", "m5.xlarge", "Hrs", "0.192", False),
    ("AmazonBedrock", "Amazon Bedrock", "USE1-Claude3.5Sonnet-input-tokens", "InvokeModel", None, "1K tokens", "0.003", False),
    ("AmazonBedrock", "Amazon Bedrock", "USE1-Claude3.5Sonnet-output-tokens", "InvokeModel", None, "1K tokens", "0.015", False),
    ("AmazonBedrock", "Amazon Bedrock", "USE1-Llama3-70B-input-tokens", "InvokeModel", None, "1K tokens", "0.00099", False),
    ("AmazonSageMaker", "Amazon SageMaker", "USE1-Train:ml.g5.12xlarge", "CreateTrainingJob", "ml.g5.12xlarge", "Hrs", "7.09", False),
    ("AmazonSageMaker", "Amazon SageMaker", "USE1-Host:ml.g5.2xlarge", "RunInstance", "ml.g5.2xlarge", "Hrs", "1.515", False),
    ("AmazonS3", "Amazon Simple Storage Service", "USE1-TimedStorage-ByteHrs", "StandardStorage", None, "GB-Mo", "0.023", False),
    ("AWSDataTransfer", "AWS Data Transfer", "USE1-DataTransfer-Out-Bytes", "GetObject", None, "GB", "0.09", False),
    ("AmazonRDS", "Amazon Relational Database Service", "USE1-InstanceUsage:db.r6g.large", "CreateDBInstance:0014", "db.r6g.large", "Hrs", "0.26", False),
    ("AWSLambda", "AWS Lambda", "USE1-Lambda-GB-Second", "Invoke", None, "Lambda-GB-Second", "0.0000166667", False),
]

# Cumulative per-mille weights of line item types (the rest is Usage).
KINDS = [("SavingsPlanCoveredUsage", 120), ("SavingsPlanNegation", 240), ("DiscountedUsage", 300),
         ("Tax", 310), ("Credit", 325), ("Refund", 330), ("EdpDiscount", 345), ("BundledDiscount", 350),
         ("PrivateRateDiscount", 355), ("Fee", 360), ("RIFee", 364), ("SavingsPlanRecurringFee", 368),
         ("SavingsPlanUpfrontFee", 370)]


def _values(rows: list[tuple]) -> str:
    def lit(v):
        if v is None:
            return "NULL"
        if isinstance(v, bool):
            return "true" if v else "false"
        return "'" + str(v).replace("'", "''") + "'"
    return ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows)


def base_sql(rows: int, period: str, seed: int) -> str:
    """Rows in CUR 2.0 column names (text costs with up to 10 decimals)."""
    start = dt.date.fromisoformat(period + "-01")
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    hours = (end - start).days * 24
    kind_case = " ".join(f"WHEN k < {w} THEN '{name}'" for name, w in KINDS)
    cat = _values([(i, *c) for i, c in enumerate(CATALOGUE)])
    n_cat = len(CATALOGUE)
    return f"""
WITH cat(ci, code, pname, utype, op, itype, unit, rate, spot) AS (VALUES {cat}),
r AS (
  SELECT i, hash(i, {seed}) AS h FROM range({rows}) t(i)
), k AS (
  SELECT i, h, CAST(h % 1000 AS INTEGER) AS k, CAST((h >> 10) % {n_cat} AS INTEGER) AS ci,
         ((h >> 20) % 100000 + 1) / 1000.0 AS amount, CAST((h >> 37) % {hours} AS INTEGER) AS hr,
         CAST((h >> 45) % 7 AS INTEGER) AS tagpick, CAST((h >> 50) % 5 AS INTEGER) AS teampick
  FROM r
), rows AS (
  -- an hourly line item runs at most one instance-hour; other units vary more
  SELECT k.* REPLACE (CASE WHEN cat.unit = 'Hrs' THEN round(k.amount / 100, 3) ELSE k.amount END AS amount),
         cat.*, CASE {kind_case} ELSE 'Usage' END AS kind FROM k JOIN cat USING (ci)
), priced AS (
  SELECT *, CAST(round(amount * CAST(rate AS DOUBLE), 10) AS DECIMAL(20,10)) AS od_cost,
         TIMESTAMP '{start}' + INTERVAL (hr) HOUR AS us_start
  FROM rows
)
SELECT
  md5(i::VARCHAR || '-{seed}') AS identity_line_item_id,
  'INV-{period.replace('-', '')}-0001' AS bill_invoice_id,
  'Amazon Web Services, Inc.' AS bill_invoicing_entity,
  'AWS' AS bill_billing_entity,
  'Anniversary' AS bill_bill_type,
  '{PAYER}' AS bill_payer_account_id,
  '{start}T00:00:00Z' AS bill_billing_period_start_date,
  '{end}T00:00:00Z' AS bill_billing_period_end_date,
  ['{"','".join(ACCOUNTS)}'][1 + CAST((h >> 55) % {len(ACCOUNTS)} AS INTEGER)] AS line_item_usage_account_id,
  kind AS line_item_line_item_type,
  CASE WHEN kind IN ('Usage','SavingsPlanCoveredUsage','SavingsPlanNegation','DiscountedUsage')
       THEN strftime(us_start, '%Y-%m-%dT%H:%M:%SZ') ELSE '{start}T00:00:00Z' END AS line_item_usage_start_date,
  CASE WHEN kind IN ('Usage','SavingsPlanCoveredUsage','SavingsPlanNegation','DiscountedUsage')
       THEN strftime(us_start + INTERVAL 1 HOUR, '%Y-%m-%dT%H:%M:%SZ') ELSE '{end}T00:00:00Z' END AS line_item_usage_end_date,
  CASE WHEN kind = 'Fee' AND i % 2 = 1 THEN 'AWSSupportBusiness'
       WHEN kind IN ('SavingsPlanRecurringFee','SavingsPlanUpfrontFee') THEN 'ComputeSavingsPlans'
       ELSE code END AS line_item_product_code,
  utype AS line_item_usage_type,
  op AS line_item_operation,
  'us-east-1' || chr(97 + CAST(h % 3 AS INTEGER)) AS line_item_availability_zone,
  CASE WHEN itype IS NOT NULL AND kind IN ('Usage','SavingsPlanCoveredUsage','DiscountedUsage')
       THEN 'i-' || substr(md5((h % 5000)::VARCHAR), 1, 17) END AS line_item_resource_id,
  CASE WHEN kind IN ('Usage','SavingsPlanCoveredUsage','SavingsPlanNegation','DiscountedUsage')
       THEN CAST(amount AS VARCHAR) END AS line_item_usage_amount,
  'USD' AS line_item_currency_code,
  CASE WHEN kind = 'Usage' THEN rate END AS line_item_unblended_rate,
  CAST(CASE kind
    WHEN 'Usage' THEN od_cost
    WHEN 'SavingsPlanCoveredUsage' THEN od_cost
    WHEN 'SavingsPlanNegation' THEN -od_cost
    WHEN 'DiscountedUsage' THEN 0
    WHEN 'Tax' THEN round(od_cost * 0.08 + 1, 10)
    WHEN 'Credit' THEN -round(od_cost * 0.5 + 5, 10)
    WHEN 'Refund' THEN -round(od_cost * 0.2 + 1, 10)
    WHEN 'EdpDiscount' THEN -round(od_cost * 0.03, 10)
    WHEN 'BundledDiscount' THEN -round(od_cost * 0.01, 10)
    WHEN 'PrivateRateDiscount' THEN -round(od_cost * 0.05, 10)
    WHEN 'Fee' THEN CASE WHEN i % 2 = 0 THEN 1200 + (h % 3000) ELSE 10 + (h % 90) END
    WHEN 'RIFee' THEN 80 + (h % 400) / 10.0
    WHEN 'SavingsPlanRecurringFee' THEN 200 + (h % 100)
    WHEN 'SavingsPlanUpfrontFee' THEN 2400
  END AS DECIMAL(20,10)) AS line_item_unblended_cost,
  CASE kind
    WHEN 'Usage' THEN '$' || rate || ' per ' || unit || ' for ' || utype
    WHEN 'SavingsPlanCoveredUsage' THEN 'Savings Plan covered ' || utype
    WHEN 'SavingsPlanNegation' THEN 'SavingsPlanNegation used by AccountId : {PAYER} and UsageSku : ' || utype
    WHEN 'DiscountedUsage' THEN 'Reserved usage ' || utype
    WHEN 'Tax' THEN 'Tax for product code ' || code
    WHEN 'Credit' THEN 'AWS Credits: Generative AI Accelerator'
    WHEN 'Refund' THEN 'Refund for duplicate charge'
    WHEN 'EdpDiscount' THEN 'Enterprise Discount Program discount'
    WHEN 'BundledDiscount' THEN 'Bundled discount'
    WHEN 'PrivateRateDiscount' THEN 'Private rate discount'
    WHEN 'Fee' THEN CASE WHEN i % 2 = 0 THEN 'Sign up charge for subscription: ri-p4d-0001, planId: 123'
                         ELSE 'AWS Support (Business)' END
    WHEN 'RIFee' THEN 'USD 19.66 hourly fee per p4d.24xlarge reservation'
    WHEN 'SavingsPlanRecurringFee' THEN '1-year Compute Savings Plan recurring fee'
    WHEN 'SavingsPlanUpfrontFee' THEN '1-year Compute Savings Plan upfront fee'
  END AS line_item_line_item_description,
  'Amazon Web Services, Inc.' AS line_item_legal_entity,
  CASE WHEN kind = 'Fee' AND i % 2 = 1 THEN 'AWS Support (Business)'
       WHEN kind IN ('SavingsPlanRecurringFee','SavingsPlanUpfrontFee') THEN 'Savings Plans for AWS Compute usage'
       ELSE pname END AS product_product_name,
  CASE WHEN itype IS NOT NULL THEN itype END AS product_instance_type,
  'US East (N. Virginia)' AS product_location,
  'us-east-1' AS product_region_code,
  upper(substr(md5(utype), 1, 16)) AS product_sku,
  CASE WHEN kind IN ('Usage','SavingsPlanCoveredUsage','DiscountedUsage','SavingsPlanNegation')
       THEN CAST(od_cost AS VARCHAR) END AS pricing_public_on_demand_cost,
  CASE WHEN kind IN ('Usage','SavingsPlanCoveredUsage','DiscountedUsage') THEN rate END AS pricing_public_on_demand_rate,
  CASE WHEN spot THEN 'Spot' WHEN kind = 'Usage' THEN 'OnDemand' END AS pricing_term,
  unit AS pricing_unit,
  CASE WHEN kind IN ('DiscountedUsage','RIFee') OR (kind = 'Fee' AND i % 2 = 0)
       THEN ['{"','".join(RI_ARNS)}'][1 + CAST(h % 2 AS INTEGER)] END AS reservation_reservation_a_r_n,
  CASE WHEN kind = 'DiscountedUsage' THEN CAST(round(od_cost * 0.6, 10) AS DECIMAL(20,10)) END AS reservation_effective_cost,
  CASE WHEN kind = 'RIFee' THEN CAST((h % 3000) / 100.0 AS DECIMAL(20,10)) END
    AS reservation_unused_amortized_upfront_fee_for_billing_period,
  CASE WHEN kind = 'RIFee' THEN CAST((h % 2000) / 100.0 AS DECIMAL(20,10)) END AS reservation_unused_recurring_fee,
  CASE WHEN kind IN ('SavingsPlanCoveredUsage','SavingsPlanNegation','SavingsPlanRecurringFee','SavingsPlanUpfrontFee')
       THEN ['{"','".join(SP_ARNS)}'][1 + CAST(h % 2 AS INTEGER)] END AS savings_plan_savings_plan_a_r_n,
  CASE WHEN kind = 'SavingsPlanCoveredUsage' THEN CAST(round(od_cost * 0.72, 10) AS DECIMAL(20,10)) END
    AS savings_plan_savings_plan_effective_cost,
  CASE WHEN kind = 'SavingsPlanRecurringFee' THEN CAST(200 + (h % 100) AS DECIMAL(20,10)) END
    AS savings_plan_total_commitment_to_date,
  -- 60% to 99% of the commitment used, so the unused part is never negative
  CASE WHEN kind = 'SavingsPlanRecurringFee' THEN CAST(round((200 + (h % 100)) * (0.6 + (h % 40) / 100.0), 2) AS DECIMAL(20,10)) END
    AS savings_plan_used_commitment,
  -- tags: one team key in one of three spellings, sometimes none; messy value casing.
  CASE WHEN tagpick IN (0, 1) THEN ['{"','".join(TEAMS)}'][1 + teampick] END AS tag_team,
  CASE WHEN tagpick = 2 THEN upper(['{"','".join(TEAMS)}'][1 + teampick]) END AS tag_team_cap,
  CASE WHEN tagpick = 3 THEN ' ' || ['{"','".join(TEAMS)}'][1 + teampick] || ' ' END AS tag_owner_team,
  CASE WHEN tagpick < 5 THEN ['{"','".join(PROJECTS)}'][1 + CAST((h >> 58) % {len(PROJECTS)} AS INTEGER)] END AS tag_project,
  CASE WHEN itype IN ('p4d.24xlarge', 'p5.48xlarge') THEN 'gpu-shared-1' END AS tag_gpu_cluster,
  CASE WHEN tagpick = 6 THEN 'AssumedRole:AROAEXAMPLE:ci-bot' END AS tag_aws_created_by
FROM priced
"""


# The rest of CUR 2.0's fixed schema (real exports carry ~120 columns, the shared samples 94 to
# 201), so that readers and benchmarks see a realistic width. Mostly empty, as in real bills.
CUR2_EXTRA = {
    "identity_time_interval": "line_item_usage_start_date || '/' || line_item_usage_end_date",
    "bill_payer_account_name": "'Example Corp'",
    "line_item_usage_account_name": "'example-' || line_item_usage_account_id",
    "line_item_blended_cost": "line_item_unblended_cost",
    "line_item_blended_rate": "line_item_unblended_rate",
    "line_item_net_unblended_cost": "NULL", "line_item_net_unblended_rate": "NULL",
    "line_item_normalization_factor": "CASE WHEN product_instance_type IS NOT NULL THEN '8' END",
    "line_item_normalized_usage_amount": "NULL",
    "line_item_tax_type": "CASE WHEN line_item_line_item_type = 'Tax' THEN 'VAT' END",
    "pricing_currency": "'USD'",
    "pricing_lease_contract_length": "CASE WHEN reservation_reservation_a_r_n IS NOT NULL THEN '1yr' END",
    "pricing_offering_class": "CASE WHEN reservation_reservation_a_r_n IS NOT NULL THEN 'standard' END",
    "pricing_purchase_option": "CASE WHEN reservation_reservation_a_r_n IS NOT NULL THEN 'Partial Upfront' END",
    "pricing_rate_code": "product_sku || '.JRTCKXETXF.6YS6EN2CT7'",
    "product_comment": "NULL", "product_fee_code": "NULL", "product_fee_description": "NULL",
    "product_from_location": "CASE WHEN line_item_product_code = 'AWSDataTransfer' THEN product_location END",
    "product_from_location_type": "CASE WHEN line_item_product_code = 'AWSDataTransfer' THEN 'AWS Region' END",
    "product_from_region_code": "CASE WHEN line_item_product_code = 'AWSDataTransfer' THEN product_region_code END",
    "product_instance_family": "CASE WHEN product_instance_type SIMILAR TO '(ml\\.)?(p|g).*' THEN 'GPU instance' "
                               "WHEN product_instance_type IS NOT NULL THEN 'General purpose' END",
    "product_instancesku": "NULL", "product_location_type": "'AWS Region'",
    "product_operation": "line_item_operation", "product_pricing_unit": "pricing_unit",
    "product_product_family": "CASE WHEN product_instance_type IS NOT NULL THEN 'Compute Instance' "
                              "WHEN line_item_product_code = 'AmazonS3' THEN 'Storage' "
                              "WHEN line_item_product_code = 'AWSDataTransfer' THEN 'Data Transfer' END",
    "product_servicecode": "line_item_product_code",
    "product_to_location": "CASE WHEN line_item_product_code = 'AWSDataTransfer' THEN 'External' END",
    "product_to_location_type": "CASE WHEN line_item_product_code = 'AWSDataTransfer' THEN 'Other' END",
    "product_to_region_code": "NULL", "product_usagetype": "line_item_usage_type",
    **{f"reservation_{c}": "NULL" for c in (
        "amortized_upfront_cost_for_usage", "amortized_upfront_fee_for_billing_period", "availability_zone",
        "modification_status", "net_amortized_upfront_cost_for_usage",
        "net_amortized_upfront_fee_for_billing_period", "net_effective_cost", "net_recurring_fee_for_usage",
        "net_unused_amortized_upfront_fee_for_billing_period", "net_unused_recurring_fee", "net_upfront_value",
        "normalized_units_per_reservation", "number_of_reservations", "recurring_fee_for_usage",
        "subscription_id", "total_reserved_normalized_units", "total_reserved_units", "units_per_reservation",
        "unused_normalized_unit_quantity", "unused_quantity", "upfront_value")},
    "reservation_start_time": "CASE WHEN reservation_reservation_a_r_n IS NOT NULL THEN '2026-01-01T00:00:00Z' END",
    "reservation_end_time": "CASE WHEN reservation_reservation_a_r_n IS NOT NULL THEN '2027-01-01T00:00:00Z' END",
    **{f"savings_plan_{c}": "NULL" for c in (
        "amortized_upfront_commitment_for_billing_period", "net_amortized_upfront_commitment_for_billing_period",
        "net_recurring_commitment_for_billing_period", "net_savings_plan_effective_cost",
        "recurring_commitment_for_billing_period", "savings_plan_rate", "instance_type_family", "region")},
    "savings_plan_offering_type": "CASE WHEN savings_plan_savings_plan_a_r_n IS NOT NULL THEN 'ComputeSavingsPlans' END",
    "savings_plan_payment_option": "CASE WHEN savings_plan_savings_plan_a_r_n IS NOT NULL THEN 'No Upfront' END",
    "savings_plan_purchase_term": "CASE WHEN savings_plan_savings_plan_a_r_n IS NOT NULL THEN '1yr' END",
    "savings_plan_start_time": "CASE WHEN savings_plan_savings_plan_a_r_n IS NOT NULL THEN '2026-01-01T00:00:00Z' END",
    "savings_plan_end_time": "CASE WHEN savings_plan_savings_plan_a_r_n IS NOT NULL THEN '2027-01-01T00:00:00Z' END",
    "discount_bundled_discount": "NULL", "discount_total_discount": "NULL",
    **{f"split_line_item_{c}": "NULL" for c in (
        "actual_usage", "net_split_cost", "net_unused_cost", "parent_resource_id", "public_on_demand_split_cost",
        "public_on_demand_unused_cost", "reserved_usage", "split_cost", "split_usage", "split_usage_ratio",
        "unused_cost")},
}
_LEGACY_PREFIXES = {"line_item": "lineItem", "savings_plan": "savingsPlan", "split_line_item": "splitLineItem",
                    "identity": "identity", "bill": "bill", "pricing": "pricing", "product": "product",
                    "reservation": "reservation", "discount": "discount"}


def legacy_name(snake: str) -> str:
    """CUR 2.0 name -> legacy CUR header: `line_item_blended_cost` -> `lineItem/BlendedCost`
    (product/ and pricing/ keep a lower-case first letter, as AWS writes them)."""
    for prefix, legacy in sorted(_LEGACY_PREFIXES.items(), key=lambda kv: -len(kv[0])):
        if snake.startswith(prefix + "_"):
            words = snake[len(prefix) + 1:].replace("a_r_n", "ARN").split("_")
            name = "".join(w[:1].upper() + w[1:] for w in words)
            if prefix in ("product", "pricing"):
                name = name[:1].lower() + name[1:]
            return f"{legacy}/{name}"
    return snake


LEGACY_NAMES = {
    "identity_line_item_id": "identity/LineItemId", "bill_invoice_id": "bill/InvoiceId",
    "bill_invoicing_entity": "bill/InvoicingEntity", "bill_billing_entity": "bill/BillingEntity",
    "bill_bill_type": "bill/BillType", "bill_payer_account_id": "bill/PayerAccountId",
    "bill_billing_period_start_date": "bill/BillingPeriodStartDate",
    "bill_billing_period_end_date": "bill/BillingPeriodEndDate",
    "line_item_usage_account_id": "lineItem/UsageAccountId", "line_item_line_item_type": "lineItem/LineItemType",
    "line_item_usage_start_date": "lineItem/UsageStartDate", "line_item_usage_end_date": "lineItem/UsageEndDate",
    "line_item_product_code": "lineItem/ProductCode", "line_item_usage_type": "lineItem/UsageType",
    "line_item_operation": "lineItem/Operation", "line_item_availability_zone": "lineItem/AvailabilityZone",
    "line_item_resource_id": "lineItem/ResourceId", "line_item_usage_amount": "lineItem/UsageAmount",
    "line_item_currency_code": "lineItem/CurrencyCode", "line_item_unblended_rate": "lineItem/UnblendedRate",
    "line_item_unblended_cost": "lineItem/UnblendedCost",
    "line_item_line_item_description": "lineItem/LineItemDescription",
    "line_item_legal_entity": "lineItem/LegalEntity", "product_product_name": "product/ProductName",
    "product_instance_type": "product/instanceType", "product_location": "product/location",
    "product_region_code": "product/regionCode", "product_sku": "product/sku",
    "pricing_public_on_demand_cost": "pricing/publicOnDemandCost",
    "pricing_public_on_demand_rate": "pricing/publicOnDemandRate", "pricing_term": "pricing/term",
    "pricing_unit": "pricing/unit", "reservation_reservation_a_r_n": "reservation/ReservationARN",
    "reservation_effective_cost": "reservation/EffectiveCost",
    "reservation_unused_amortized_upfront_fee_for_billing_period": "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation_unused_recurring_fee": "reservation/UnusedRecurringFee",
    "savings_plan_savings_plan_a_r_n": "savingsPlan/SavingsPlanARN",
    "savings_plan_savings_plan_effective_cost": "savingsPlan/SavingsPlanEffectiveCost",
    "savings_plan_total_commitment_to_date": "savingsPlan/TotalCommitmentToDate",
    "savings_plan_used_commitment": "savingsPlan/UsedCommitment",
}
# generated column -> tag key as the user wrote it (AWS-made tags keep their `aws:` prefix)
TAGS = {"tag_team": "team", "tag_team_cap": "Team", "tag_owner_team": "owner-team",
        "tag_project": "project", "tag_gpu_cluster": "gpu-cluster", "tag_aws_created_by": "aws:createdBy"}
LEGACY_NAMES.update({c: "resourceTags/" + (k if k.startswith("aws:") else "user:" + k) for c, k in TAGS.items()})
FORMATS = ("legacy-csv", "cur2-parquet", "cur2-csv")


def generate(out: Path, rows: int, period: str, seed: int = 42, fmt: str = "legacy-csv",
             progress: bool = False) -> Path:
    """Write a synthetic CUR. legacy-csv: gzip CSV with legacy headers (`.csv.gz`); cur2-parquet /
    cur2-csv: CUR 2.0 names, a `resource_tags` map (JSON text in CSV) and a `product` map."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    con = connect(progress)
    extras = ", ".join(f'CAST({expr} AS VARCHAR) AS "{name}"' for name, expr in CUR2_EXTRA.items())
    base = f"SELECT *, {extras} FROM ({base_sql(rows, period, seed)})"
    target = str(out).replace("'", "''")
    if fmt == "legacy-csv":
        # The header is written by hand: DuckDB names are case-insensitive, CUR tag keys are not
        # (`user:team` and `user:Team` are two columns). Concatenated gzip members are one gzip.
        names = _columns(con, base)
        gz = out.name.endswith(".gz")
        header = (",".join(LEGACY_NAMES.get(c) or legacy_name(c) for c in names) + "\n").encode()
        body = out.with_name(out.name + ".body")
        con.execute(f"COPY ({base}) TO '{str(body).replace(chr(39), chr(39) * 2)}' "
                    f"(FORMAT csv, HEADER false, COMPRESSION {'gzip' if gz else 'none'})")
        with open(out, "wb") as fh:
            fh.write(gzip.compress(header) if gz else header)
            with open(body, "rb") as src:
                shutil.copyfileobj(src, fh, 1 << 20)
        body.unlink()
        return out
    plain = [c for c in _columns(con, base) if not c.startswith("tag_") and c != "product_product_name"]
    tags = ", ".join(f"{{'key': '{k}', 'value': {c}}}" for c, k in TAGS.items())
    tag_map = (f"map_from_entries(list_transform(list_filter([{tags}], lambda e: e.value IS NOT NULL), "
               f"lambda e: {{'key': CASE WHEN e.key LIKE 'aws:%' THEN replace(e.key, ':', '_') "
               f"ELSE 'user_' || e.key END, 'value': e.value}}))")
    money = {"line_item_unblended_cost", "pricing_public_on_demand_cost", "reservation_effective_cost",
             "reservation_unused_amortized_upfront_fee_for_billing_period", "reservation_unused_recurring_fee",
             "savings_plan_savings_plan_effective_cost", "savings_plan_total_commitment_to_date",
             "savings_plan_used_commitment", "line_item_usage_amount"}
    if fmt == "cur2-parquet":
        cols = ", ".join(f'CAST("{c}" AS DOUBLE) AS "{c}"' if c in money else f'"{c}"' for c in plain)
        con.execute(f"COPY (SELECT {cols}, {tag_map} AS resource_tags, "
                    f"MAP {{'product_name': product_product_name}} AS product FROM ({base})) "
                    f"TO '{target}' (FORMAT parquet)")
    else:
        cols = ", ".join(f'"{c}"' for c in plain)
        con.execute(f"COPY (SELECT {cols}, to_json({tag_map}) AS resource_tags, "
                    f"to_json(MAP {{'product_name': product_product_name}}) AS product FROM ({base})) "
                    f"TO '{target}' (FORMAT csv, HEADER)")
    return out


def _columns(con, sql: str) -> list[str]:
    return [d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0").description]


# The demo's shared GPU cluster (the `gpu-cluster: gpu-shared-1` nodes, p4d and p5): who used
# it, in what proportion of the used GPU-hours.
GPU_POOL_TEAMS = {"ml-research": 0.5, "search": 0.3, "ads": 0.2}
GPUS_PER_NODE = {"p4d.24xlarge": 8, "p5.48xlarge": 8}


def generate_gpu_usage(curs: list[Path], out: Path, seed: int = 7) -> Path:
    """A scheduler's GPU-hours usage file for the shared cluster in legacy-CSV CURs made by
    `generate`: per day and team, requested and used GPU-hours (fractional), together 50% to 75%
    of the GPU-hours the day's node-hours paid for (max(requested, used) at most 90%), so that
    the cluster has real idle time."""
    import duckdb
    paid = []
    with duckdb.connect() as con:
        for cur in curs:
            paid += con.execute("""
                SELECT CAST(CAST("lineItem/UsageStartDate" AS TIMESTAMP) AS DATE) AS day,
                       sum(CAST("lineItem/UsageAmount" AS DOUBLE) * CASE "product/instanceType" WHEN 'p4d.24xlarge' THEN ?
                           ELSE ? END) AS gpu_hours
                FROM read_csv(?, all_varchar = true, header = true)
                WHERE "product/instanceType" IN ('p4d.24xlarge', 'p5.48xlarge')
                  AND "lineItem/LineItemType" IN ('Usage', 'SavingsPlanCoveredUsage', 'DiscountedUsage')
                GROUP BY 1 ORDER BY 1""", [GPUS_PER_NODE["p4d.24xlarge"], GPUS_PER_NODE["p5.48xlarge"], str(cur)]).fetchall()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as fh:
        fh.write("date,team,requested_gpu_hours,used_gpu_hours\n")
        for day, gpu_hours in paid:
            utilization = 0.5 + ((day.toordinal() * 7919 + seed) % 26) / 100  # 50% to 75%, by day
            for i, (team, share) in enumerate(GPU_POOL_TEAMS.items()):
                used = gpu_hours * utilization * share
                # requests are 90% to 120% of use: max(requested, used) is what the team held
                requested = used * (0.9 + ((day.toordinal() + i) % 7) / 20)
                fh.write(f"{day},{team},{requested:.4f},{used:.4f}\n")
    return out
