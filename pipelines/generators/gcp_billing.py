"""A synthetic Google Cloud billing export (detailed usage cost export), generated in DuckDB SQL.

Deterministic for a seed: every value comes from hash(row, seed). It holds what an AI-heavy GCP
bill holds: Compute Engine GPU SKUs (A100 on a2-highgpu, H100 on a3-highgpu, Spot A100) with
their core/RAM SKUs and a committed-use fee, N2 VMs, Vertex AI (Gemini token SKUs, custom
training on A100), BigQuery, Cloud Storage and egress; credits of several types
(COMMITTED_USAGE_DISCOUNT, SUSTAINED_USAGE_DISCOUNT, PROMOTION, FREE_TIER; some rows carry two);
cost types regular, tax, adjustment (goodwill credits and usage corrections) and
rounding_error; two billing accounts (USD and EUR); late rows of the previous invoice month;
resource labels and project labels with team keys in several spellings (`team`, `Team`,
`owner-team`), sometimes clashing, sometimes absent; Resource Manager tags, inherited or bound.
Every column of Google's current export schema is there (resource, price, subscription,
consumption_model, project.ancestors...), so that a plain copy of the file, the benchmark's
reference, does the work a real export asks for.

Formats: `csv` (flattened, dotted headers, repeated fields as JSON text, like the shared
samples), `parquet` (BigQuery's nested schema: structs and list<struct>, FLOAT64 costs) and `json`
(the same nested rows as newline-delimited JSON, TIMESTAMPs as BigQuery writes them there:
"2026-10-01 07:00:00 UTC")."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from . import connect

FORMATS = ("csv", "parquet", "json")
ACCOUNTS = [("01A2B3-C4D5E6-F7A8B9", "USD", "1.0"), ("0F0E0D-0C0B0A-090807", "EUR", "0.92")]

# project id, name, number, labels (JSON list) -- team keys in several spellings
PROJECTS = [
    ("ml-research-prod", "ML Research Prod", "104857600001",
     '[{"key": "team", "value": "ml-research"}, {"key": "env", "value": "prod"}]'),
    ("search-ranking", "Search Ranking", "104857600002", '[{"key": "Team", "value": "search"}]'),
    ("shared-gpu-cluster", "Shared GPU Cluster", "104857600003",
     '[{"key": "owner-team", "value": "ml-platform"}, {"key": "cost-center", "value": "cc-4100"}]'),
    ("data-eng-analytics", "Data Eng Analytics", "104857600004", "[]"),
]
TEAMS = ["ml-research", "ml-platform", "search", "ads", "data-eng"]

# service id, service, sku id, sku, usage unit, pricing unit, price per pricing unit,
# usage units per pricing unit, machine type, credit kind (cud / sud / free / none)
CATALOGUE = [
    ("6F81-5844-456A", "Compute Engine", "039F-D0DA-4055", "Nvidia Tesla A100 GPU running in Americas",
     "seconds", "hour", "2.933908", 3600, "a2-highgpu-1g", "cud"),
    ("6F81-5844-456A", "Compute Engine", "1A2D-3F8B-C2E1", "A2 Instance Core running in Americas",
     "seconds", "hour", "0.031611", 3600, "a2-highgpu-1g", "cud"),
    ("6F81-5844-456A", "Compute Engine", "2B3E-4A9C-D3F2", "A2 Instance Ram running in Americas",
     "byte-seconds", "gibibyte hour", "0.004237", 3600 * 2 ** 30, "a2-highgpu-1g", "cud"),
    ("6F81-5844-456A", "Compute Engine", "3C4F-5BAD-E4A3", "Nvidia H100 80GB GPU running in Americas",
     "seconds", "hour", "11.061250", 3600, "a3-highgpu-8g", "cud"),
    ("6F81-5844-456A", "Compute Engine", "4D5A-6CBE-F5B4", "A3 Instance Core running in Americas",
     "seconds", "hour", "0.050240", 3600, "a3-highgpu-8g", "none"),
    ("6F81-5844-456A", "Compute Engine", "5E6B-7DCF-A6C5", "Spot Preemptible Nvidia Tesla A100 GPU running in Americas",
     "seconds", "hour", "1.102000", 3600, "a2-highgpu-1g", "none"),
    ("6F81-5844-456A", "Compute Engine", "6F7C-8EDA-B7D6", "N2 Instance Core running in Americas",
     "seconds", "hour", "0.031611", 3600, "n2-standard-8", "sud"),
    ("6F81-5844-456A", "Compute Engine", "7A8D-9FEB-C8E7", "Commitment v1: A2 GPU in Americas for 1 Year",
     "seconds", "hour", "1.850000", 3600, None, "none"),
    ("6F81-5844-456A", "Compute Engine", "DFA5-B5C6-36D6", "Network Internet Egress from Americas to EMEA",
     "bytes", "gibibyte", "0.120000", 2 ** 30, None, "free"),
    ("C7E2-9256-1C43", "Vertex AI", "8B9E-A0FC-D9F8", "Gemini 1.5 Pro Input Text Tokens",
     "count", "count", "0.00000125", 1, None, "none"),
    ("C7E2-9256-1C43", "Vertex AI", "9CAF-B1AD-EA09", "Gemini 1.5 Pro Output Text Tokens",
     "count", "count", "0.000005", 1, None, "none"),
    ("C7E2-9256-1C43", "Vertex AI", "ADB0-C2BE-FB1A", "Gemini 2.0 Flash Input Text Tokens",
     "count", "count", "0.00000015", 1, None, "free"),
    ("C7E2-9256-1C43", "Vertex AI", "BEC1-D3CF-0C2B", "Custom Training A100 GPU running in Americas",
     "seconds", "hour", "3.373000", 3600, "a2-highgpu-1g", "none"),
    ("24E6-581D-38E5", "BigQuery", "1DF5-1F98-1DD1", "Analysis",
     "bytes", "tebibyte", "6.250000", 2 ** 40, None, "free"),
    ("24E6-581D-38E5", "BigQuery", "947D-3B46-7781", "Active Storage",
     "byte-seconds", "gibibyte month", "0.020000", 2 ** 30 * 2592000, None, "none"),
    ("95FF-2EF5-5EA1", "Cloud Storage", "E5C1-4A9D-3B2F", "Standard Storage US Multi-region",
     "byte-seconds", "gibibyte month", "0.026000", 2 ** 30 * 2592000, None, "free"),
    ("95FF-2EF5-5EA1", "Cloud Storage", "F6D2-5BAE-4C3A", "Class A Operations",
     "requests", "requests", "0.000005", 1, None, "none"),
    ("E505-1604-58F8", "Networking", "C0D1-E2F3-0415", "Network Inter Zone Data Transfer Out",
     "bytes", "gibibyte", "0.010000", 2 ** 30, None, "none"),
]

# Cumulative per-mille weights of cost types (the rest is regular).
COST_TYPES = [("tax", 15), ("adjustment", 30), ("rounding_error", 36)]


def _values(rows: list[tuple]) -> str:
    def lit(v):
        if v is None:
            return "NULL"
        if isinstance(v, (int, float)):
            return repr(v)
        return "'" + str(v).replace("'", "''") + "'"
    return ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows)


def _pick(values: list[str], bits: str) -> str:
    return "[" + ", ".join("'" + v + "'" for v in values) + f"][1 + CAST(({bits}) % {len(values)} AS INTEGER)]"


LABEL = "STRUCT(key VARCHAR, value VARCHAR)"
TAG = "STRUCT(key VARCHAR, value VARCHAR, inherited BOOLEAN, namespace VARCHAR)"
ORGANIZATION = "123456789012"
DEFAULT_MODEL = ("D2C2-20A3-CE0C", "Default")  # consumption_model of a row priced without a commitment
# Gemini is priced under a negotiated discount: list is 10% higher.
GEMINI_LIST = "CASE WHEN sdesc = 'Vertex AI' AND skudesc LIKE 'Gemini%' THEN 1.1 ELSE 1 END"


def _price(factor: str) -> str:
    """The SKU's price per pricing unit in the row's currency, times `factor`, as BigQuery NUMERIC."""
    return f"CAST(CAST(price AS DECIMAL(38,9)) * CASE WHEN eur THEN 0.92 ELSE 1 END * {factor} AS DECIMAL(38,9))"
CREDIT = "STRUCT(name VARCHAR, amount DECIMAL(20,6), full_name VARCHAR, id VARCHAR, type VARCHAR)"


def base_sql(rows: int, period: str, seed: int) -> str:
    """One row per export line, flat (underscored names), repeated fields as DuckDB lists."""
    start = dt.date.fromisoformat(period + "-01")
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    prev = (start - dt.timedelta(days=1)).replace(day=1)
    hours = (end - start).days * 24
    cat = _values([(i, *c) for i, c in enumerate(CATALOGUE)])
    projects = _values([(i, *p) for i, p in enumerate(PROJECTS)])
    ctype = " ".join(f"WHEN k < {w} THEN '{name}'" for name, w in COST_TYPES)
    month, prev_month = start.strftime("%Y%m"), prev.strftime("%Y%m")
    return f"""
WITH cat(ci, sid, sdesc, skuid, skudesc, uunit, punit, price, factor, machine, creditkind) AS (VALUES {cat}),
proj(pi, pid, pname, pnumber, plabels) AS (VALUES {projects}),
k AS (
  SELECT i, h, CAST(h % 1000 AS INTEGER) AS k, CAST((h >> 10) % {len(CATALOGUE)} AS INTEGER) AS ci,
         CAST((h >> 15) % {len(PROJECTS)} AS INTEGER) AS pi,
         CAST((h >> 20) % {hours} AS INTEGER) AS hr, CAST((h >> 30) % 9 AS INTEGER) AS labelpick,
         CAST((h >> 34) % 100 AS INTEGER) AS creditpick, ((h >> 41) % 10000 + 1) / 10000.0 AS frac,
         CAST((h >> 55) % 10 AS INTEGER) = 0 AS eur, CAST((h >> 59) % 100 AS INTEGER) = 0 AS late,
         CAST(h2 % 8 AS INTEGER) AS tagpick
  FROM (SELECT i, hash(i, {seed}) AS h, hash(i, {seed}, 'tags') AS h2 FROM range({rows}) t(i))
), rows AS (
  SELECT k.*, cat.*, proj.*, CASE {ctype} ELSE 'regular' END AS cost_type,
         -- an hourly row runs up to one hour of one unit; tokens and bytes vary more
         CAST(round(frac * factor * CASE WHEN punit IN ('hour', 'gibibyte hour') THEN 1
                                         WHEN punit = 'count' THEN 2000000
                                         WHEN punit = 'gibibyte month' THEN 500 / 720.0
                                         WHEN punit = 'tebibyte' THEN 0.5 ELSE 50 END) AS DOUBLE) AS usage_amount,
         CASE WHEN late THEN TIMESTAMP '{start}' - INTERVAL (1 + hr % 24) HOUR
              ELSE TIMESTAMP '{start}' + INTERVAL (hr) HOUR END AS us_start
  FROM k JOIN cat USING (ci) JOIN proj USING (pi)
), priced AS (
  SELECT *, usage_amount / factor AS pricing_amount,
         CAST(round(usage_amount / factor * CAST(price AS DOUBLE) * CASE WHEN eur THEN 0.92 ELSE 1 END, 6)
              AS DECIMAL(20,6)) AS usage_cost
  FROM rows
)
SELECT
  CASE WHEN eur THEN '{ACCOUNTS[1][0]}' ELSE '{ACCOUNTS[0][0]}' END AS billing_account_id,
  CASE WHEN cost_type IN ('tax', 'rounding_error') THEN NULL ELSE sid END AS service_id,
  CASE WHEN cost_type IN ('tax', 'rounding_error') THEN 'Invoice' ELSE sdesc END AS service_description,
  CASE WHEN cost_type IN ('tax', 'rounding_error') THEN NULL ELSE skuid END AS sku_id,
  CASE cost_type WHEN 'tax' THEN 'Tax' WHEN 'rounding_error' THEN 'Rounding error'
                 WHEN 'adjustment' THEN 'Adjustment: ' || skudesc ELSE skudesc END AS sku_description,
  us_start AS usage_start_time,
  us_start + INTERVAL 1 HOUR AS usage_end_time,
  pid AS project_id, pnumber AS project_number, pname AS project_name,
  CAST(plabels AS {LABEL}[]) AS project_labels,
  '/123456789012/' || pnumber || '/' AS project_ancestry_numbers,
  [{{'resource_name': 'projects/' || pnumber, 'display_name': pid}},
   {{'resource_name': 'organizations/{ORGANIZATION}', 'display_name': 'example.com'}}] AS project_ancestors,
  -- resource labels: a team in one of three spellings (sometimes clashing with the project's), or none
  CASE labelpick
    WHEN 0 THEN [{{'key': 'team', 'value': {_pick(TEAMS, 'h >> 45')}}}]
    WHEN 1 THEN [{{'key': 'team', 'value': {_pick(TEAMS, 'h >> 45')}}}, {{'key': 'env', 'value': 'dev'}}]
    WHEN 2 THEN [{{'key': 'Team', 'value': upper({_pick(TEAMS, 'h >> 45')})}}]
    WHEN 3 THEN [{{'key': 'owner-team', 'value': ' ' || {_pick(TEAMS, 'h >> 45')} || ' '}}]
    WHEN 4 THEN [{{'key': 'ai-project', 'value': 'llm-assistant'}}, {{'key': 'team', 'value': 'ml-research'}}]
    ELSE CAST([] AS {LABEL}[]) END AS labels,
  CASE WHEN machine IS NOT NULL AND cost_type = 'regular'
       THEN [{{'key': 'compute.googleapis.com/machine_spec', 'value': machine}},
             {{'key': 'compute.googleapis.com/cores', 'value': CASE WHEN machine LIKE 'a3%' THEN '208' ELSE '12' END}}]
       ELSE CAST([] AS {LABEL}[]) END AS system_labels,
  CASE WHEN sdesc IN ('BigQuery', 'Cloud Storage') THEN 'US' ELSE 'us-central1' END AS location_location,
  'US' AS location_country,
  CASE WHEN sdesc IN ('BigQuery', 'Cloud Storage') THEN NULL ELSE 'us-central1' END AS location_region,
  CASE WHEN machine IS NOT NULL THEN 'us-central1-' || chr(97 + CAST(h % 3 AS INTEGER)) END AS location_zone,
  -- Resource Manager tags (key and value short names; namespace: the organization or project
  -- that owns the key), inherited from the organization or bound to the resource
  CASE WHEN tagpick < 3 THEN [{{'key': 'env', 'value': CASE WHEN pi = 0 THEN 'prod' ELSE 'dev' END,
                               'inherited': true, 'namespace': '{ORGANIZATION}'}}]
       WHEN tagpick = 3 THEN [{{'key': 'env', 'value': 'prod', 'inherited': true, 'namespace': '{ORGANIZATION}'}},
                              {{'key': 'cost-center', 'value': 'cc-' || (4100 + pi), 'inherited': false,
                                'namespace': pid}}]
       ELSE CAST([] AS {TAG}[]) END AS tags,
  CASE WHEN machine IS NOT NULL AND cost_type = 'regular' THEN 'gpu-node-' || (h % 40) END AS resource_name,
  CASE WHEN machine IS NOT NULL AND cost_type = 'regular'
       THEN '//compute.googleapis.com/projects/' || pid || '/zones/us-central1-a/instances/' || (h % 100000) END
    AS resource_global_name,
  us_start + INTERVAL 5 HOUR AS export_time,
  CASE cost_type
    WHEN 'regular' THEN usage_cost
    WHEN 'tax' THEN CAST(round(usage_cost * 0.08 + 0.5, 6) AS DECIMAL(20,6))
    WHEN 'adjustment' THEN CASE WHEN h % 3 = 0 THEN CAST(round(usage_cost * 0.1 + 0.25, 6) AS DECIMAL(20,6))
                                ELSE -CAST(round(usage_cost * 0.5 + 1, 6) AS DECIMAL(20,6)) END
    ELSE CASE WHEN h % 2 = 0 THEN 0.000001 ELSE -0.000001 END
  END AS cost,
  CASE WHEN eur THEN 'EUR' ELSE 'USD' END AS currency,
  CASE WHEN eur THEN 0.92 ELSE 1.0 END AS currency_conversion_rate,
  CASE WHEN cost_type = 'regular' THEN usage_amount END AS usage_amount_,
  CASE WHEN cost_type = 'regular' THEN uunit END AS usage_unit,
  CASE WHEN cost_type = 'regular' THEN pricing_amount END AS usage_amount_in_pricing_units,
  CASE WHEN cost_type = 'regular' THEN punit END AS usage_pricing_unit,
  -- credits reduce the row they apply to, never below zero
  CASE WHEN cost_type <> 'regular' THEN CAST([] AS {CREDIT}[])
    WHEN creditkind = 'cud' AND creditpick < 60 THEN
      [{{'name': 'Committed use discount: A2/A3 GPU', 'amount': -CAST(round(usage_cost * 0.55, 6) AS DECIMAL(20,6)),
        'full_name': NULL, 'id': 'CUD-' || CASE WHEN eur THEN 'eu' ELSE 'us' END || '-a2-1y', 'type': 'COMMITTED_USAGE_DISCOUNT'}}]
      || CASE WHEN creditpick < 10 THEN [{{'name': 'FreeTrial:Credit-{ACCOUNTS[0][0]}',
        'amount': -CAST(round(usage_cost * 0.2, 6) AS DECIMAL(20,6)), 'full_name': 'Free trial credit',
        'id': 'FreeTrial:Credit-{ACCOUNTS[0][0]}', 'type': 'PROMOTION'}}] ELSE CAST([] AS {CREDIT}[]) END
    WHEN creditkind = 'sud' AND creditpick < 70 THEN
      [{{'name': 'Sustained usage discount', 'amount': -CAST(round(usage_cost * 0.2, 6) AS DECIMAL(20,6)),
        'full_name': NULL, 'id': 'SUD-n2', 'type': 'SUSTAINED_USAGE_DISCOUNT'}}]
    WHEN creditkind = 'free' AND creditpick < 40 THEN
      [{{'name': 'Free tier', 'amount': -CAST(round(usage_cost * 0.5, 6) AS DECIMAL(20,6)),
        'full_name': NULL, 'id': 'FreeTier', 'type': 'FREE_TIER'}}]
    WHEN creditpick < 5 THEN
      [{{'name': 'Generative AI credit', 'amount': -usage_cost, 'full_name': 'Gen AI launch promotion',
        'id': 'Promo-GenAI-2026', 'type': 'PROMOTION'}}]
    ELSE CAST([] AS {CREDIT}[]) END AS credits,
  CASE WHEN late THEN '{prev_month}' ELSE '{month}' END AS invoice_month,
  'Google' AS invoice_publisher_type,
  cost_type,
  CASE WHEN cost_type = 'adjustment' THEN 'ADJ-' || (h % 100000) END AS adjustment_info_id,
  CASE WHEN cost_type = 'adjustment' THEN CASE WHEN h % 3 = 0 THEN 'Usage correction' ELSE 'Goodwill credit' END END
    AS adjustment_info_description,
  CASE WHEN cost_type = 'adjustment' THEN 'MANUAL_ADJUSTMENT' END AS adjustment_info_mode,
  CASE WHEN cost_type = 'adjustment' THEN CASE WHEN h % 3 = 0 THEN 'USAGE_CORRECTION' ELSE 'GOODWILL' END END
    AS adjustment_info_type,
  -- Gemini is priced under a negotiated discount: list is 10% higher
  CASE WHEN cost_type = 'regular' THEN CAST(round(usage_cost * {GEMINI_LIST}, 6) AS DECIMAL(20,6)) END AS cost_at_list,
  CASE WHEN cost_type = 'regular' THEN 'GOOGLE' END AS transaction_type,
  NULL::VARCHAR AS seller_name,
  -- the price of the row's SKU per pricing unit (BigQuery NUMERIC), in the billing currency
  CASE WHEN cost_type = 'regular' THEN {_price('1')} END AS price_effective_price,
  CASE WHEN cost_type = 'regular' THEN 0::DECIMAL(38,9) END AS price_tier_start_amount,
  CASE WHEN cost_type = 'regular' THEN punit END AS price_unit,
  CASE WHEN cost_type = 'regular' THEN 1::DECIMAL(38,9) END AS price_pricing_unit_quantity,
  CASE WHEN cost_type = 'regular' THEN {_price(GEMINI_LIST)} END AS price_list_price,
  CASE WHEN cost_type = 'regular' THEN {_price('1')} END AS price_effective_price_default,
  CASE WHEN cost_type = 'regular' THEN {_price(GEMINI_LIST)} END AS price_list_price_consumption_model,
  CASE WHEN skudesc LIKE 'Commitment%' AND cost_type = 'regular'
       THEN 'subscriptions/' || CASE WHEN eur THEN '2c5e' ELSE '1fd3' END || 'b130-40f8-4a79-ac6f-5753aaa0ceeb' END
    AS subscription_instance_id,
  CASE WHEN cost_type = 'regular' THEN usage_cost END AS cost_at_effective_price_default,
  CASE WHEN cost_type = 'regular' THEN CAST(round(usage_cost * {GEMINI_LIST}, 6) AS DECIMAL(20,6)) END
    AS cost_at_list_consumption_model,
  CASE WHEN cost_type = 'regular' THEN '{DEFAULT_MODEL[0]}' END AS consumption_model_id,
  CASE WHEN cost_type = 'regular' THEN '{DEFAULT_MODEL[1]}' END AS consumption_model_description
FROM priced
"""


# The nested BigQuery schema: struct name -> members (flat column names are `<struct>_<member>`).
STRUCTS = {
    "service": ["id", "description"], "sku": ["id", "description"],
    "project": ["id", "number", "name", "labels", "ancestry_numbers", "ancestors"],
    "location": ["location", "country", "region", "zone"], "resource": ["name", "global_name"],
    "usage": ["amount", "unit", "amount_in_pricing_units", "pricing_unit"],
    "invoice": ["month", "publisher_type"], "adjustment_info": ["id", "description", "mode", "type"],
    "price": ["effective_price", "tier_start_amount", "unit", "pricing_unit_quantity", "list_price",
              "effective_price_default", "list_price_consumption_model"],
    "subscription": ["instance_id"], "consumption_model": ["id", "description"],
}
ORDER = ["billing_account_id", "service", "sku", "usage_start_time", "usage_end_time", "project", "labels",
         "system_labels", "location", "tags", "resource", "export_time", "cost", "currency",
         "currency_conversion_rate", "usage", "credits", "invoice", "cost_type", "adjustment_info", "cost_at_list",
         "transaction_type", "seller_name", "price", "subscription", "cost_at_effective_price_default",
         "cost_at_list_consumption_model", "consumption_model"]


def _flat(name: str) -> str:
    return "usage_amount_" if name == "usage_amount" else name


def generate(out: Path, rows: int, period: str, seed: int = 42, fmt: str = "csv") -> Path:
    """Write a synthetic GCP billing export of `rows` lines for invoice month `period` (YYYY-MM)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    con = connect()
    base = base_sql(rows, period, seed)
    target = str(out).replace("'", "''")
    cols = []
    for name in ORDER:
        members = STRUCTS.get(name)
        if fmt in ("parquet", "json"):
            if members:
                fields = ", ".join(f"'{m}': {_money(_flat(f'{name}_{m}'), fmt)}" for m in members)
                cols.append(f"{{{fields}}} AS {name}")
            else:
                cols.append(f"{_money(name, fmt)} AS {name}")
        else:
            for m in members or [None]:
                flat, dotted = (_flat(f"{name}_{m}"), f"{name}.{m}") if m else (name, name)
                cols.append(f'{_csv(flat)} AS "{dotted}"')
    options = {"parquet": "FORMAT parquet, COMPRESSION zstd", "json": "FORMAT json", "csv": "FORMAT csv, HEADER"}[fmt]
    con.execute(f"COPY (SELECT {', '.join(cols)} FROM ({base})) TO '{target}' ({options})")
    return out


MONEY = ("cost", "cost_at_list", "usage_amount_", "usage_amount_in_pricing_units", "credits",
         "cost_at_effective_price_default", "cost_at_list_consumption_model")
LISTS = ("labels", "system_labels", "project_labels", "credits", "tags", "project_ancestors")


def _money(col: str, fmt: str) -> str:
    """BigQuery keeps money and amounts as FLOAT64 (credits' amounts too)."""
    if col == "credits":
        return ("list_transform(credits, lambda c: {'name': c.name, 'amount': CAST(c.amount AS DOUBLE), "
                "'full_name': c.full_name, 'id': c.id, 'type': c.type})")
    if col in ("usage_start_time", "usage_end_time", "export_time"):  # UTC, as BigQuery's TIMESTAMP
        return f"strftime({col}, '%Y-%m-%d %H:%M:%S UTC')" if fmt == "json" else f"CAST({col} AS TIMESTAMPTZ)"
    return f"CAST({col} AS DOUBLE)" if col in MONEY else col


def _csv(col: str) -> str:
    if col in LISTS:
        return f"CAST(to_json({col}) AS VARCHAR)"
    if col in ("usage_start_time", "usage_end_time", "export_time"):
        return f"strftime({col}, '%Y-%m-%d %H:%M:%S+00:00')"
    return col
