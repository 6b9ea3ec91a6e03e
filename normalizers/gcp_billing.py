"""Google Cloud billing export -> FOCUS 1.2.

Reads the standard usage cost export in two shapes: flattened CSV with dotted headers
(`service.description`, `project.labels`), where the repeated fields (`labels`, `project.labels`,
`system_labels`, `credits`) are list literals in a cell, as JSON (`[{"key": "team", ...}]`) or as
Python reprs (`[{'key': 'team', ...}]`, the shape of the shared samples); and BigQuery's own
nested form exported to Parquet or to newline-delimited JSON, where `service`, `project`,
`usage`... are structs and the repeated fields are list<struct>. Headers flattened with
underscores (`service_description`) are read too. Every shape is put under one set of names
first (`service.description` -> `service_description`); the mapping below is written once,
against those names.

BilledCost is `cost` (what GCP calls cost before credits); EffectiveCost is cost plus the sum
of the row's credits (CUDs, sustained use, promotions, free tier), which GCP reports on the
usage row they reduce. The credits themselves stay visible in `x_Credits` (type, name, amount).
"""
from __future__ import annotations

import ast
import functools
import json
from dataclasses import dataclass
from pathlib import Path

from . import memo
from .errors import BadInputError
from .focus_contract import MAPPED_VALUES, select_list, utc
from .sources import (arrow_json_batches, bad_input_sql, currency_sql, decimal_sql, float_decimal_sql, is_json, is_parquet, not_empty,
                      parquet_schema, raw_relation, read_header, sql_ident, sql_str, summed_totals_sql)

SOURCE = "gcp-billing"
PROVIDER = "Google Cloud"


@dataclass(frozen=True)
class CostType:
    charge_category: str
    charge_frequency: str


# cost_type -> FOCUS. An adjustment whose adjustment_info.type is in CREDIT_ADJUSTMENTS and
# whose cost is negative is a Credit (goodwill, SLA credits), not a correction of usage.
COST_TYPES: dict[str, CostType] = {
    "regular": CostType("Usage", "Usage-Based"),
    "tax": CostType("Tax", "Recurring"),
    "adjustment": CostType("Adjustment", "One-Time"),
    "rounding_error": CostType("Adjustment", "One-Time"),
}
CREDIT_ADJUSTMENTS = ("GOODWILL", "SALES_BASED_GOODWILL", "SLA_VIOLATION", "PROMOTION")

# service.description -> FOCUS ServiceCategory / ServiceSubcategory (default Other / Other (Other)).
SERVICES: dict[str, tuple[str, str]] = {
    "Compute Engine": ("Compute", "Virtual Machines"),
    "Kubernetes Engine": ("Compute", "Containers"),
    "Cloud Run": ("Compute", "Serverless Compute"),
    "Cloud Functions": ("Compute", "Serverless Compute"),
    "Cloud Run functions": ("Compute", "Serverless Compute"),
    "Batch": ("Compute", "Other (Compute)"),
    "App Engine": ("Web", "Application Platforms"),
    "Vertex AI": ("AI and Machine Learning", "AI Platforms"),
    "AI Platform": ("AI and Machine Learning", "AI Platforms"),
    "Gemini API": ("AI and Machine Learning", "Generative AI"),
    "Generative Language API": ("AI and Machine Learning", "Generative AI"),
    "Cloud Natural Language API": ("AI and Machine Learning", "Natural Language Processing"),
    "Cloud Translation API": ("AI and Machine Learning", "Natural Language Processing"),
    "Cloud Speech API": ("AI and Machine Learning", "Natural Language Processing"),
    "Cloud Vision API": ("AI and Machine Learning", "Machine Learning"),
    "Document AI": ("AI and Machine Learning", "Machine Learning"),
    "Dialogflow": ("AI and Machine Learning", "Bots"),
    "BigQuery": ("Databases", "Data Warehouses"),
    "BigQuery Reservation API": ("Databases", "Data Warehouses"),
    "BigQuery Storage API": ("Databases", "Data Warehouses"),
    "Cloud SQL": ("Databases", "Relational Databases"),
    "Cloud Spanner": ("Databases", "Relational Databases"),
    "AlloyDB": ("Databases", "Relational Databases"),
    "Cloud Bigtable": ("Databases", "NoSQL Databases"),
    "Cloud Firestore": ("Databases", "NoSQL Databases"),
    "Firestore": ("Databases", "NoSQL Databases"),
    "Cloud Memorystore for Redis": ("Databases", "Caching"),
    "Memorystore for Redis": ("Databases", "Caching"),
    "Cloud Storage": ("Storage", "Object Storage"),
    "Filestore": ("Storage", "File Storage"),
    "Backup and DR Service": ("Storage", "Backup Storage"),
    "Networking": ("Networking", "Network Infrastructure"),
    "Cloud CDN": ("Networking", "Content Delivery"),
    "Cloud DNS": ("Networking", "Network Routing"),
    "Cloud Load Balancing": ("Networking", "Application Networking"),
    "Cloud Armor": ("Networking", "Network Security"),
    "Cloud VPN": ("Networking", "Network Connectivity"),
    "Cloud Interconnect": ("Networking", "Network Connectivity"),
    "Cloud Pub/Sub": ("Integration", "Messaging"),
    "Cloud Tasks": ("Integration", "Messaging"),
    "Workflows": ("Integration", "Workflow Orchestration"),
    "Cloud Composer": ("Integration", "Workflow Orchestration"),
    "Apigee": ("Integration", "API Management"),
    "Cloud Dataflow": ("Analytics", "Data Processing"),
    "Dataflow": ("Analytics", "Data Processing"),
    "Cloud Dataproc": ("Analytics", "Data Processing"),
    "Dataproc": ("Analytics", "Data Processing"),
    "Looker": ("Analytics", "Business Intelligence"),
    "Looker Studio": ("Analytics", "Business Intelligence"),
    "Cloud Logging": ("Management and Governance", "Observability"),
    "Cloud Monitoring": ("Management and Governance", "Observability"),
    "Stackdriver Logging": ("Management and Governance", "Observability"),
    "Stackdriver Monitoring": ("Management and Governance", "Observability"),
    "Cloud Trace": ("Management and Governance", "Observability"),
    "Support": ("Management and Governance", "Support"),
    "Security Command Center": ("Security", "Security Posture Management"),
    "Secret Manager": ("Security", "Secret Management"),
    "Cloud Key Management Service (KMS)": ("Security", "Secret Management"),
    "Identity Platform": ("Identity", "Identity and Access Management"),
    "Cloud Build": ("Developer Tools", "Continuous Integration and Deployment"),
    "Artifact Registry": ("Developer Tools", "Other (Developer Tools)"),
    "Cloud Source Repositories": ("Developer Tools", "Source Code Management"),
}

# GCP unit names (usage.unit, usage.pricing_unit) -> FOCUS Unit Format. Others pass unchanged.
UNITS = {
    "byte": "B", "bytes": "B", "kibibyte": "KiB", "mebibyte": "MiB", "gibibyte": "GiB",
    "tebibyte": "TiB", "pebibyte": "PiB",
    "byte-seconds": "B-Seconds", "gibibyte second": "GiB-Seconds", "gibibyte hour": "GiB-Hours",
    "gibibyte day": "GiB-Days", "gibibyte month": "GiB-Months", "tebibyte month": "TiB-Months",
    "seconds": "Seconds", "second": "Seconds", "minute": "Minutes", "hour": "Hours", "hours": "Hours",
    "day": "Days", "month": "Months", "requests": "Requests", "request": "Requests",
    "count": "Count", "1000 count": "1000 Count", "1000000 count": "1000000 Count",
    "token": "Tokens", "tokens": "Tokens", "1000 tokens": "1000 Tokens", "1000000 tokens": "1000000 Tokens",
}

# The source column a row's billing period comes from: normalize.py writes one pass per value.
PERIOD_KEY = "invoice_month"

# system_labels key holding a VM's machine type (a2-highgpu-1g, a3-highgpu-8g...).
MACHINE_SPEC = "compute.googleapis.com/machine_spec"

# Columns the mapping reads, by their dotted export names; the first group must be present.
REQUIRED = ("billing_account_id", "service.description", "usage_start_time", "usage_end_time",
            "cost", "currency", "invoice.month")
OPTIONAL = ("service.id", "sku.id", "sku.description", "project.id", "project.name",
            "location.location", "location.region", "location.zone", "usage.amount", "usage.unit",
            "usage.amount_in_pricing_units", "usage.pricing_unit", "cost_type", "cost_at_list",
            "resource.name", "resource.global_name", "seller_name", "adjustment_info.type")
# Repeated fields: list literals in CSV cells, list<struct> in Parquet. name -> element type.
LABEL = "STRUCT(key VARCHAR, value VARCHAR)"
LISTS = {
    "system_labels": LABEL,
    "credits": "STRUCT(name VARCHAR, amount VARCHAR, full_name VARCHAR, id VARCHAR, type VARCHAR)",
}
# The lists that make Tags: resource labels, project labels and Resource Manager tags, turned
# into one JSON object by tags_json once per distinct combination: through the memo function
# gcp_tags for text cells (CSV), through a lookup table of the file's distinct combinations for
# Parquet lists (tag_lookup_sql: a per-row to_json of the lists cost more than the rest of Tags).
TAG_LISTS = ("labels", "project.labels", "tags")
LIST_KEYS = {name.replace(".", "_") for name in (*LISTS, *TAG_LISTS)}
# A label list as compact JSON whose strings have no escapes or control characters, e.g.
# [{"key":"team","value":"ml"},{"key":"env","value":null}]: from_json and the text cast agree on it
# (checked on every cell of a 1M-row export and on edge cases in tests/test_gcp_billing.py).
_STR = r'"[^"\\\x00-\x1f]*"'
_LABEL = r'\{ *"key" *: *' + _STR + r' *, *"value" *: *(' + _STR + r'|null) *\}'
SIMPLE_LABELS = r'\[ *(' + _LABEL + r'( *, *' + _LABEL + r')*)? *\]'
# Typed source columns (internal names), checked one by one when a cast fails.
NUMERIC = ("cost", "usage_amount", "usage_amount_in_pricing_units", "cost_at_list")
TIMESTAMPS = ("usage_start_time", "usage_end_time")


def internal(name: str) -> str:
    """`service.description` -> `service_description` (the relation's column name)."""
    return name.replace(".", "_")


def _parquet_paths(schema: list[tuple[str, object]]) -> dict[str, tuple[str, str, str]]:
    """Dotted name -> (SQL expression, DuckDB type id such as 'double' or 'list', top-level
    column) for the top-level and struct-member columns of a Parquet schema (parquet_schema)."""
    out = {}
    for name, typ in schema:
        out[name] = (sql_ident(name), typ.id, name)
        if typ.id == "struct":
            for child, child_type in typ.children:
                out[f"{name}.{child}"] = (f"{sql_ident(name)}.{sql_ident(child)}", child_type.id, name)
    return out


FLOATS = ("double", "float")

# BigQuery's newline-delimited JSON export of the table has no schema of its own: it is read with
# the table's types for the fields the mapping reads (a field missing from a line is NULL, other
# fields are skipped). TIMESTAMPs are text there ("2026-10-01 07:00:00 UTC"), cast as CSV cells are.
_KV = 'STRUCT("key" VARCHAR, "value" VARCHAR)'
JSON_FIELDS = {
    "billing_account_id": "VARCHAR",
    "service": "STRUCT(id VARCHAR, description VARCHAR)",
    "sku": "STRUCT(id VARCHAR, description VARCHAR)",
    "usage_start_time": "VARCHAR", "usage_end_time": "VARCHAR",
    "project": f'STRUCT(id VARCHAR, "name" VARCHAR, labels {_KV}[])',
    "labels": f"{_KV}[]", "system_labels": f"{_KV}[]",
    "location": 'STRUCT("location" VARCHAR, region VARCHAR, "zone" VARCHAR)',
    "tags": 'STRUCT("key" VARCHAR, "value" VARCHAR, inherited BOOLEAN, namespace VARCHAR)[]',
    "resource": 'STRUCT("name" VARCHAR, global_name VARCHAR)',
    "cost": "DOUBLE", "currency": "VARCHAR",
    "usage": "STRUCT(amount DOUBLE, unit VARCHAR, amount_in_pricing_units DOUBLE, pricing_unit VARCHAR)",
    "credits": 'STRUCT("name" VARCHAR, amount DOUBLE, full_name VARCHAR, id VARCHAR, "type" VARCHAR)[]',
    "invoice": 'STRUCT("month" VARCHAR)',
    "cost_type": "VARCHAR", "adjustment_info": 'STRUCT("type" VARCHAR)', "cost_at_list": "DOUBLE",
    "seller_name": "VARCHAR",
}


def _json_source(path: Path) -> str:
    fields = ", ".join(f"{sql_str(name)}: {sql_str(typ)}" for name, typ in JSON_FIELDS.items())
    return f"read_json({sql_str(path)}, format='newline_delimited', columns={{{fields}}})"


@functools.cache
def _json_fields():
    """The JSON_FIELDS' (name, DuckDB type) pairs, as parquet_schema gives them for a Parquet
    file, and their Arrow schema: worked out once (a DuckDB connection costs 40 ms)."""
    import duckdb
    relation = duckdb.connect().sql(f"SELECT {', '.join(f'NULL::{t} AS {sql_ident(n)}' for n, t in JSON_FIELDS.items())}")
    return list(zip(relation.columns, relation.types)), relation.arrow().schema


def _json_schema(path: Path) -> list[tuple[str, object]]:
    not_empty(path, "one JSON object per line")
    return _json_fields()[0]


class FileMapping:
    """Which columns one export file has, under dotted names, and how to read each."""

    def __init__(self, path: Path):
        self.path = path
        # Parquet and JSON exports keep BigQuery's nested form; CSV is flattened
        self.nested = is_parquet(path) or is_json(path)
        schema = (parquet_schema(path) if is_parquet(path) else  # read once: names and types
                  _json_schema(path) if self.nested else None)
        self.header = [name for name, _ in schema] if schema is not None else read_header(path)
        self.native_lists: set[str] = set()  # repeated fields stored as list<struct> (Parquet)
        self.tag_lookup: str | None = None  # the table tag_lookup_sql() fills (Parquet lists)
        self.stream_errors: list[BadInputError] = []  # bad lines met while streaming a JSON file
        # A column is known by its dotted name, or flattened with underscores (`service_description`).
        wanted = {internal(n) for n in REQUIRED + OPTIONAL + tuple(LISTS) + TAG_LISTS}
        self.source_names: dict[str, str] = {}  # internal name -> name as in the file
        self._exprs: dict[str, str] = {}  # internal name -> SQL over the Parquet file
        self._floats: dict[str, str] = {}  # internal name -> SQL of a FLOAT64 Parquet column
        self.renames: dict[int, str] = {}  # CSV: position in the header -> internal name
        # Parquet: the top-level columns the mapping reads -> their members it reads (None: the
        # column itself)
        self._reads: dict[str, list[str] | None] = {}
        if self.nested:
            for name, (expr, typ, top) in _parquet_paths(schema).items():
                key = internal(name.strip().lower())
                if key in wanted and key not in self.source_names:
                    self.source_names[key] = name
                    if name == top:
                        self._reads[top] = None
                    elif self._reads.get(top, []) is not None:
                        self._reads.setdefault(top, []).append(name[len(top) + 1:])
                    # BigQuery's FLOAT64 money goes through its shortest text form (as in CSV), so
                    # 2144047674.0 stays that number, not DOUBLE->DECIMAL's 2144047673.9999999.
                    self._exprs[key] = f"CAST({expr} AS VARCHAR)" if typ in FLOATS else expr
                    if typ in FLOATS and key in NUMERIC:
                        self._floats[key] = expr
                    if key in LIST_KEYS and typ == "list":
                        self.native_lists.add(key)
        else:
            for position, original in enumerate(self.header):
                key = internal(original.strip().lower())
                if key in wanted and key not in self.source_names:
                    self.source_names[key] = original
                    self.renames[position] = key
        present = [internal(n) for n in TAG_LISTS if internal(n) in self.source_names]
        # Tags by lookup when every tag list the file has is a Parquet list. Not for JSON lines:
        # they reach DuckDB as an Arrow stream of unknown length, and it built the lookup join's
        # hash table on the stream's side (5M rows: 9x the time of 1M, memory growing).
        self.tags_by_lookup = (bool(present) and all(k in self.native_lists for k in present)
                               and is_parquet(path))
        missing = [c for c in REQUIRED if internal(c) not in self.source_names]
        if missing:
            raise BadInputError(path.name, f"missing required GCP billing export column(s): {', '.join(missing)} "
                                           f"(is this a Google Cloud billing export?)", column=missing[0])

    def relation(self, stream: str | None = None, rows: bool = True, where: str | None = None) -> str:
        """Every mapped column under its internal name (NULL when the file lacks it), the
        repeated fields as typed lists (`__system_labels`, `__credits`), the tag lists as text
        (`__labels_text`...) or, when tags_by_lookup, as lists (`__labels_list`...), FLOAT64
        amounts also as decimals (`__number_cost`...: see number()), __row and __file; `where`
        filters the source rows (normalize.py's one pass per invoice month)."""
        if self.nested:
            row = "file_row_number + 1" if rows else "NULL::BIGINT"
            picked = ", ".join([f"{e} AS {sql_ident(n)}" for n, e in self._exprs.items()] +
                               [f"{float_decimal_sql(e)} AS __number_{n}" for n, e in self._floats.items()])
            if stream:  # a JSON file's rows streamed through Arrow, or a copy of some of the rows
                source = sql_ident(stream)
            elif is_parquet(self.path):
                source = f"read_parquet({sql_str(self.path)}{', file_row_number=true' if rows else ''})"
            else:  # JSON lines, when not streamed (checks, totals): numbered by an OVER () window,
                # which DuckDB runs in file order (on one core: the normalizing pass is streamed)
                source = f"(SELECT *, row_number() OVER () - 1 AS file_row_number FROM {_json_source(self.path)})" \
                    if rows else _json_source(self.path)
            inner = f"SELECT {row} AS __row, {picked} FROM {source}"
        else:
            inner = raw_relation(self.path, self.header, self.renames, stream, rows)
        if where:
            inner = f"SELECT * FROM ({inner}) WHERE {where}"
        cols = [sql_ident(internal(c)) if internal(c) in self.source_names else f"NULL AS {sql_ident(internal(c))}"
                for c in REQUIRED + OPTIONAL]
        parsed = [self._parse_list(n, t) for n, t in LISTS.items()]
        lists = [self._list_expr(n, t) for n, t in LISTS.items()] + [self._text_expr(n) for n in TAG_LISTS]
        numbers = [f"__number_{n}" for n in self._floats]
        return (f"SELECT __row, {sql_str(self.path.name)} AS __file, {', '.join(cols + lists + numbers)} "
                f"FROM (SELECT *{''.join(', ' + p for p in parsed if p)} FROM ({inner}))")

    def arrow_stream(self, spill: Path | None = None):
        """A JSON file's rows, numbered, as Arrow (see sources.arrow_json_batches; `spill`: where
        the rows of other invoice months than the main one go); None for CSV and Parquet, which
        DuckDB reads itself."""
        if not is_json(self.path):
            return None
        schema = _json_fields()[1]
        struct, member = self.source_names[PERIOD_KEY].split(".")
        return arrow_json_batches(self.path, schema, (struct, member, spill) if spill else None, self.stream_errors)

    def number(self, key: str) -> str:
        """SQL: the amount column `key` as DECIMAL(38,12), parsed from its text (CSV) or converted
        from FLOAT64 (Parquet) as if from its text (float_decimal_sql)."""
        return f"__number_{key}" if key in self._floats else decimal_sql(key)

    def raw_rows_sql(self) -> str:
        """A Parquet file's rows as stored, with file_row_number, but only the columns and struct
        members the mapping reads (a third less to decode): what relation(stream=...) reads from
        a copy of some of them (normalize.py's pass over last month's late rows)."""
        def read(top, members):
            if members is None:
                return sql_ident(top)
            fields = ", ".join(f"{sql_str(m)}: {sql_ident(top)}.{sql_ident(m)}" for m in members)
            return f"{{{fields}}} AS {sql_ident(top)}"
        return (f"SELECT {', '.join(read(t, m) for t, m in self._reads.items())}, file_row_number "
                f"FROM read_parquet({sql_str(self.path)}, file_row_number=true)")

    def raw_column_sql(self, key: str) -> str:
        """SQL for the internal column `key` over raw_rows_sql()."""
        return self._exprs[key]

    def _parse_list(self, name: str, element: str) -> str | None:
        """Text cells parsed once (TRY_CAST: a bad cell is NULL and reported by _list_expr).
        DuckDB's text-to-list cast reads JSON and Python-repr literals alike ('...' or "...").
        A label list in plain compact JSON (SIMPLE_LABELS: no escapes, keys in order) is read by
        from_json instead, 4x cheaper, same lists (a third of a 1M-row GCP CSV's parse time)."""
        key = internal(name)
        if key in self.source_names and key not in self.native_lists:
            col, cast = sql_ident(key), f"TRY_CAST({sql_ident(key)} AS {element}[])"
            if element == LABEL:
                cast = (f"CASE WHEN regexp_full_match({col}, {sql_str(SIMPLE_LABELS)}) "
                        f"THEN from_json({col}, '[{{\"key\":\"VARCHAR\",\"value\":\"VARCHAR\"}}]') ELSE {cast} END")
            # Most rows have no credits and no system labels: an empty list is not parsed.
            return f"CASE WHEN {col} = '[]' THEN CAST([] AS {element}[]) ELSE {cast} END AS __parsed_{key}"
        return None

    def _text_expr(self, name: str) -> str:
        """A tag list as text (the CSV cell, or a Parquet list as JSON), or as the list itself
        when Tags come from the lookup table."""
        key = internal(name)
        if self.tags_by_lookup:
            # A missing list is an empty one: DuckDB hashes both alike, so the lookup table
            # (grouped by hash) must not hold both (a file may: tests/test_gcp_billing.py).
            col = sql_ident(key)
            listed = f"CASE WHEN {col} IS NULL THEN [] ELSE {col} END" if key in self.source_names else "[]"
            return f"{listed} AS __{key}_list"
        if key not in self.source_names:
            return f"NULL::VARCHAR AS __{key}_text"
        col = sql_ident(key)
        return f"{f'CAST(to_json({col}) AS VARCHAR)' if key in self.native_lists else col} AS __{key}_text"

    def _list_expr(self, name: str, element: str) -> str:
        key = internal(name)
        if key not in self.source_names:
            return f"CAST([] AS {element}[]) AS __{key}"
        col = sql_ident(key)
        if key in self.native_lists:
            return f"CAST(coalesce({col}, []) AS {element}[]) AS __{key}"
        bad = bad_input_sql(self.source_names[key],
                            f"'value ' || {col} || ' is not a list like [{{\"key\": ..., \"value\": ...}}]'")
        return (f"CASE WHEN __parsed_{key} IS NULL AND {col} IS NOT NULL THEN {bad} "
                f"ELSE coalesce(__parsed_{key}, CAST([] AS {element}[])) END AS __{key}")



def _whens(mapping: dict, pick) -> str:
    return " ".join(f"WHEN {sql_str(k)} THEN {sql_str(pick(v))}" for k, v in mapping.items())


def unit_sql(column: str) -> str:
    return f"CASE {column} {_whens(UNITS, lambda v: v)} ELSE {column} END"


def _label_entries(text: str | None) -> list[tuple[str | None, str | None]]:
    """(key, value) pairs of a label list: JSON (BigQuery, Parquet lists) or a Python repr
    (`[{'key': 'team', ...}]`, the shape of the shared samples). ValueError if it is neither.
    A Resource Manager tag's key is namespaced as GCP shows it, `<namespace>/<key>`
    (`123456789012/env`: the organization or project that owns the key), which no label key
    can clash with (label keys have no `/`)."""
    if text is None:
        return []
    try:
        items = json.loads(text)
    except ValueError:
        try:
            items = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
            raise ValueError(text) from exc
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError(text)

    def as_text(v):
        return v if v is None or isinstance(v, str) else json.dumps(v)
    def key(i):
        k = as_text(i.get("key"))
        return f"{i['namespace']}/{k}" if k and i.get("namespace") else k
    return [(key(i), as_text(i.get("value"))) for i in items]


def tags_json(labels: str | None, project_labels: str | None, tags: str | None = None) -> str | None:
    """Labels, project labels and Resource Manager tags as one FOCUS Tags JSON object; a key's
    first entry wins, so a resource label wins over a project label of the same key; entries
    without a key are left out; none at all is NULL. Run once per distinct combination."""
    entries = []
    for argument, text in enumerate((labels, project_labels, tags), 1):
        try:
            entries += _label_entries(text)
        except ValueError:
            return memo.error(argument, f'value {text} is not a list like [{{"key": ..., "value": ...}}]')
    tags: dict[str, str | None] = {}
    for key, value in entries:
        if key and key not in tags:
            tags[key] = value
    return json.dumps(tags, ensure_ascii=False, separators=(",", ":")) if tags else None


def register_functions(con, mappings: list[FileMapping]) -> None:
    """gcp_tags for files whose tag lists are text (registering a Python function imports numpy:
    not done for Parquet files, whose Tags come from prepare_lookups)."""
    if any(not m.tags_by_lookup for m in mappings):
        memo.register(con, "gcp_tags", tags_json, len(TAG_LISTS))


def tag_lookup_sql(mapping: FileMapping, table: str) -> str:
    """SQL creating `table`: the file's distinct combinations of tag lists (l0, l1, l2), their
    Tags still NULL (prepare_lookups fills them). Grouped by the lists' hash (half the cost of
    grouping by the lists: 0.14 vs 0.27 s per 1M rows); were two combinations to share a hash,
    one would be missing and _tagged fails loudly on its rows."""
    names = [f"l{i}" for i in range(len(TAG_LISTS))]
    lists = ", ".join(f"__{internal(n)}_list AS {a}" for n, a in zip(TAG_LISTS, names))
    firsts = ", ".join(f"any_value({a}) AS {a}" for a in names)
    return (f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT *, NULL::VARCHAR AS tags, true AS found "
            f"FROM (SELECT {firsts} FROM (SELECT {lists} FROM ({mapping.relation(rows=False)})) "
            f"GROUP BY hash({', '.join(names)}))")


def prepare_lookups(con, mappings: list[FileMapping]) -> None:
    """Create and fill the Tags lookup table of each file whose tag lists are Parquet lists:
    tags_json runs in Python on each combination's lists as JSON (what gcp_tags runs on CSV
    cells, so both forms agree), a few hundred calls per file."""
    for i, m in enumerate(mappings):
        if not m.tags_by_lookup:
            continue
        m.tag_lookup = f"__gcp_tags_{i}"
        con.execute(tag_lookup_sql(m, m.tag_lookup))
        texts = ", ".join(f"CAST(to_json(l{j}) AS VARCHAR)" for j in range(len(TAG_LISTS)))
        rows = con.execute(f"SELECT rowid, {texts} FROM {m.tag_lookup}").fetchall()
        ids, tags = [r[0] for r in rows], [tags_json(*r[1:]) for r in rows]
        bad = next((t for t in tags if t and t.startswith(memo.ERROR)), None)
        if bad:  # not expected: the lists' own JSON
            column = m.source_names.get(internal(TAG_LISTS[int(bad[1]) - 1]), TAG_LISTS[int(bad[1]) - 1])
            raise BadInputError(m.path.name, bad[2:], column=column)
        con.execute(f"UPDATE {m.tag_lookup} SET tags = v.tags FROM (SELECT unnest($1) AS id, unnest($2) AS tags) v "
                    f"WHERE {m.tag_lookup}.rowid = v.id", [ids, tags])


def _tagged(mapping: FileMapping, relation: str) -> str:
    """The relation with `__tags`: looked up (Parquet lists) or computed by the memo function."""
    if not mapping.tags_by_lookup:
        texts = ", ".join(f"__{internal(n)}_text" for n in TAG_LISTS)
        return f"SELECT *, gcp_tags({texts}) AS __tags FROM ({relation})"
    if mapping.tag_lookup is None:
        raise RuntimeError("prepare_lookups() was not run for this file")
    on = " AND ".join(f"r.__{internal(n)}_list IS NOT DISTINCT FROM t.l{i}" for i, n in enumerate(TAG_LISTS))
    missing = sql_str(f"internal error: the tag lists of a row of {mapping.path.name} are missing from "
                      f"its lookup table (a hash collision); please report it")
    return (f"SELECT r.*, CASE WHEN t.found THEN t.tags ELSE error({missing}) END AS __tags "
            f"FROM ({relation}) r LEFT JOIN {mapping.tag_lookup} t ON {on}")


def typed_relation(mapping: FileMapping, stream: str | None = None, where: str | None = None) -> str:
    """The source row with typed money and the looked-up cost type (one CASE, no join)."""
    bad_amount = bad_input_sql(mapping.source_names.get("credits", "credits"),
                               "'credit amount ' || coalesce('''' || c.amount || '''', 'NULL') || ' is not a number'")
    amount = (f"CASE WHEN c.amount IS NULL OR c.amount IN ('None', 'null') THEN NULL "
              f"ELSE coalesce({decimal_sql('c.amount', try_cast=True)}, {bad_amount}) END")
    # Most rows have no credits, no system labels: their lambdas are not run (CASE evaluates a
    # branch only for the rows that take it).
    credits = (f"CASE WHEN len(__credits) = 0 THEN [] ELSE "
               f"list_transform(__credits, lambda c: {{'type': c.type, 'name': c.name, 'amount': {amount}}}) END")
    categories = _whens(COST_TYPES, lambda v: v.charge_category)
    machine = (f"CASE WHEN len(__system_labels) > 0 THEN "
               f"list_extract(list_filter(__system_labels, lambda l: l.key = {sql_str(MACHINE_SPEC)}), 1).value END")
    bad_month = bad_input_sql(mapping.source_names.get("invoice_month", "invoice.month"),
                              "'value ' || coalesce('''' || invoice_month || '''', 'NULL') || "
                              "' is not a month (YYYYMM)'")
    # The invoice month is parsed once per row here (it feeds BillingPeriodStart and End).
    return (f"SELECT *, CASE WHEN len(__credit_list) = 0 THEN 0 "
            f"ELSE coalesce(list_sum(list_transform(__credit_list, lambda c: c.amount)), 0) END AS __credit_total, "
            f"{utc(f'CASE WHEN __month IS NULL THEN {bad_month} ELSE __month END')} AS __period_start, "
            # plain TIMESTAMP arithmetic: a month added to a TIMESTAMPTZ goes through ICU (5x the cost)
            f"{utc('__month + INTERVAL 1 MONTH')} AS __period_end "
            f"FROM (SELECT *, {mapping.number('cost')} AS __billed, {credits} AS __credit_list, "
            f"try_strptime(CAST(invoice_month AS VARCHAR), '%Y%m') AS __month, "
            f"coalesce(cost_type, 'regular') AS __type, "
            f"CASE coalesce(cost_type, 'regular') {categories} END AS __category0, "
            f"coalesce(service_description, 'Google Cloud') AS __service, "
            f"{machine} AS __machine "
            f"FROM ({_tagged(mapping, mapping.relation(stream, where=where))}))")


def focus_expressions(mapping: FileMapping) -> dict[str, str]:
    """FOCUS column -> SQL expression over typed_relation()."""
    source_names, number = mapping.source_names, mapping.number
    bad_type = bad_input_sql(source_names.get("cost_type", "cost_type"),
                             "'unknown cost type ''' || __type || '''' || "
                             + sql_str(f" (aispend maps: {', '.join(COST_TYPES)})"))
    category = (f"CASE WHEN __category0 IS NULL THEN {bad_type} "
                f"WHEN __type = 'adjustment' AND __billed < 0 AND adjustment_info_type IN "
                f"({', '.join(sql_str(t) for t in CREDIT_ADJUSTMENTS)}) THEN 'Credit' ELSE __category0 END")
    frequency = f"CASE __type {_whens(COST_TYPES, lambda v: v.charge_frequency)} END"
    period_start = "__period_start"
    tag_columns = [source_names.get(internal(n), n) for n in TAG_LISTS]
    is_usage = "__type = 'regular'"
    return {
        "AvailabilityZone": "NULLIF(location_zone, '')",
        "BilledCost": "__billed",
        "BillingAccountId": "billing_account_id",
        "BillingAccountType": "'Billing Account'",
        "BillingCurrency": currency_sql("currency", source_names.get("currency", "currency")),
        "BillingPeriodStart": period_start,
        "BillingPeriodEnd": "__period_end",
        "ChargeCategory": category,
        "ChargeDescription": "sku_description",
        "ChargeFrequency": frequency,
        "ChargePeriodStart": "CAST(usage_start_time AS TIMESTAMPTZ)",
        "ChargePeriodEnd": "CAST(usage_end_time AS TIMESTAMPTZ)",
        "ConsumedQuantity": f"CASE WHEN {is_usage} THEN {number('usage_amount')} END",
        "ConsumedUnit": f"CASE WHEN {is_usage} AND usage_amount IS NOT NULL "
                        f"THEN coalesce({unit_sql('usage_unit')}, 'Units') END",
        "ContractedCost": "__billed",
        "EffectiveCost": "__billed + __credit_total",
        "InvoiceIssuerName": sql_str(PROVIDER),
        "ListCost": f"coalesce({number('cost_at_list')}, __billed)",
        # Spot VMs' SKUs read "Spot Preemptible ...".
        "PricingCategory": f"CASE WHEN {is_usage} THEN CASE WHEN contains(sku_description, 'Preemptible') "
                           f"THEN 'Dynamic' ELSE 'Standard' END END",
        # FOCUS: Tax has no pricing quantity; a quantity always has a unit.
        "PricingQuantity": f"CASE WHEN __type <> 'tax' THEN {number('usage_amount_in_pricing_units')} END",
        "PricingUnit": f"CASE WHEN __type <> 'tax' AND usage_amount_in_pricing_units IS NOT NULL "
                       f"THEN coalesce({unit_sql('usage_pricing_unit')}, 'Units') END",
        "ProviderName": sql_str(PROVIDER),
        "PublisherName": f"coalesce(NULLIF(seller_name, ''), {sql_str(PROVIDER)})",
        "RegionId": "NULLIF(location_region, '')",
        "RegionName": "NULLIF(location_region, '')",
        "ResourceId": "NULLIF(resource_global_name, '')",
        # //compute.googleapis.com/projects/p/zones/z/instances/123 -> compute.googleapis.com/instances
        # (the API and the collection); a name of another shape: the service. String functions:
        # a regular expression here cost 1.4 CPU s per 1M rows.
        "ResourceType": "CASE WHEN resource_global_name LIKE '//%/%/%' THEN split_part(resource_global_name, '/', 3) "
                        "|| '/' || split_part(resource_global_name, '/', -2) "
                        "WHEN NULLIF(resource_global_name, '') IS NOT NULL THEN __service END",
        "ResourceName": "NULLIF(resource_name, '')",
        "ServiceCategory": f"coalesce(CASE __service {_whens(SERVICES, lambda v: v[0])} END, 'Other')",
        # FOCUS string handling is ASCII (strlen counts bytes, length characters: equal means ASCII).
        "ServiceName": "CASE WHEN strlen(__service) = length(__service) THEN __service ELSE "
                       "regexp_replace(strip_accents(__service), '[^\\x00-\\x7F]', '', 'g') END",
        "ServiceSubcategory": f"coalesce(CASE __service {_whens(SERVICES, lambda v: v[1])} END, 'Other (Other)')",
        "SkuId": "sku_id",
        "SkuMeter": "CASE WHEN sku_id IS NOT NULL THEN sku_description END",  # FOCUS: a meter needs a SKU
        "SubAccountId": "project_id",
        "SubAccountName": "CASE WHEN project_id IS NOT NULL THEN coalesce(NULLIF(project_name, ''), project_id) END",
        "SubAccountType": "CASE WHEN project_id IS NOT NULL THEN 'Project' END",
        "Tags": f"CAST({memo.error_case('__tags', tag_columns)} AS JSON)",
        "x_Source": sql_str(SOURCE),
        "x_SourceFile": "__file",
        "x_SourceRow": "__row",
        "x_ChargeType": "__type",
        "x_UsageType": "sku_description",
        "x_InstanceType": "__machine",
        "x_Credits": "CASE WHEN len(__credit_list) > 0 THEN to_json(__credit_list) END",
    }


def focus_query(mappings: list[FileMapping], streams: list[str | None] | None = None,
                where: str | None = None) -> str:
    """One SELECT producing FOCUS rows (contract columns, in order) from every file of a delivery
    (`where`: only the source rows it selects)."""
    streams = streams or [None] * len(mappings)
    # Each file is mapped on its own (CSV text and Parquet types differ; errors name its columns).
    return " UNION ALL ".join(f"(SELECT {select_list(focus_expressions(m), MAPPED_VALUES | {'x_SourceFile': [m.path.name]})} "
                              f"FROM ({typed_relation(m, s, where)}))" for m, s in zip(mappings, streams))


def _month(column: str) -> str:
    return f"substr(CAST({column} AS VARCHAR), 1, 4) || '-' || substr(CAST({column} AS VARCHAR), 5, 2)"


def source_totals_sql(mapping: FileMapping) -> str:
    """The export's own total of `cost` per invoice month and currency, computed straight from
    the file (independently of the FOCUS mapping) for the conservation check."""
    return (f"SELECT {_month('invoice_month')} AS billing_period, currency, "
            f"sum(CAST(cost AS DECIMAL(38,18))) AS total FROM ({mapping.relation(rows=False)}) GROUP BY ALL")


def delivery_totals_sql(mappings: list[FileMapping]) -> str:
    """The delivery's own totals: every file's, summed."""
    return summed_totals_sql([source_totals_sql(m) for m in mappings])


def billing_periods(mapping: FileMapping, con) -> list[str]:
    """The invoice months an export holds (a daily export can carry late rows of last month)."""
    import duckdb
    try:
        rows = con.execute(f"SELECT CAST(invoice_month AS VARCHAR), min(__row) FROM ({mapping.relation()}) "
                           f"GROUP BY 1 ORDER BY 1").fetchall()
    except duckdb.IOException as exc:
        raise BadInputError(mapping.path.name, f"{str(exc).splitlines()[0]} (the file looks truncated or "
                                               f"corrupt; ask for a re-delivery)") from exc
    if not rows:
        raise BadInputError(mapping.path.name, "the export has a header but no line items")
    out = []
    for month, row in rows:
        if month is None or len(month) != 6 or not month.isdigit() or not 1 <= int(month[4:]) <= 12:
            raise BadInputError(mapping.path.name, f"value {month!r} is not a month (YYYYMM)", row,
                                mapping.source_names["invoice_month"])
        out.append(f"{month[:4]}-{month[4:]}")
    return out
