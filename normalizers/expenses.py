"""Expense exports (SAP Concur, Expensify, Ramp, Brex, or any tool mapped in the config) -> FOCUS 1.2.

One source, `expenses`, for every expense tool: the format of each file is detected from its
header (FORMATS below, then the config's `expense_formats:`), so a month's delivery can be a
folder holding the Concur and the Brex exports together. Each row is one expense or card
transaction: ProviderName and PublisherName are the merchant, the row keeps the employee,
department, card statement descriptor and MCC in x_ columns (the AI-spend inventory reads them).

Amounts are exact: text -> DECIMAL, times 0.01 for formats that export cents. Refunds are
negative (as exported, or negated where the format marks them in a type column) and become
ChargeCategory Credit: FOCUS's ChargeClass Correction is for corrections of an earlier,
already invoiced billing period, which an expense row cannot tell. BillingPeriod is the
transaction's month; a delivery holding rows of several months is published to each of them.

Column names, and what they rest on (searched public documentation and code; where a name is
not confirmed it says so, and every field also accepts the alternatives listed):
- concur: the Standard Accounting Extract's field names ("Report Entry Transaction Date",
  "Journal Amount", "Report Entry Expense Type Name", "Report Entry Vendor Description", "Report
  Entry Vendor Name", "Employee ID", "Cost Center", "Report ID", "Journal Debit Or Credit"), as used
  as CSV headers by public code that processes Concur SAE/AmEx exports. The SAE itself is a
  pipe-delimited file with no header row; this reads the CSV form with those names. The currency
  and card columns ("Reimbursement Currency", "Credit Card Transaction Description", "Credit Card
  Transaction Merchant Category Code") are not confirmed names.
- expensify: the Expensify Classic "Default CSV" export (Timestamp, Merchant, Amount, MCC, Category,
  Tag, Comment, Reimbursable, Original Currency, Original Amount, Receipt), recalled from Expensify's
  help, not confirmed by a stored page; it has no employee column. The amount taken is Original
  Amount in Original Currency (Amount is in the report's currency, which the file does not name).
- expensify-api: Expensify's Integration Server report export with a template emitting the
  documented expense-level fields (integrations.expensify.com .../export_report_template.html:
  `amount` "The original amount of the expense, in cents", currency, merchant, created, category,
  comment, transactionID, reportID; report-level accountEmail). `mcc` and `tag` are not confirmed.
- ramp: Ramp's transactions CSV; names not confirmed (Ramp lets admins rename and reorder CSV
  columns, support.ramp.com "Universal CSV"); the Ramp API's transaction field names are accepted
  too (user_transaction_time, merchant_name, merchant_descriptor, merchant_category_code,
  sk_category_name, currency_code). Ramp's US card settles in USD, the default when no currency
  column is exported.
- brex: Brex card transactions with the Brex API's field names (Fivetran's Brex schema:
  primary_card_account_transaction id, amount, currency, description, initiated_at_date,
  posted_at_date, merchant_category_code, raw_descriptor, type). Brex's Money amounts are in cents
  (so a public Brex API client reads them: dennisonbertram/mcp-brex src/utils/money.ts, cents / 100),
  so this format reads cents. The refund types (REFUND, CHARGEBACK), the user/department columns
  and the column names of Brex's dashboard CSV download are not confirmed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from .currencies import ISO_4217
from .errors import BadInputError
from .focus_contract import select_list
from .sources import (arrow_csv_batches, bad_input_sql, currency_sql, is_parquet, raw_relation, read_header, sql_ident,
                      sql_str, summed_totals_sql)

SOURCE = "expenses"
PROVIDER = "Expenses"  # the partition folder (provider=expenses); each row's ProviderName is its merchant
# One file per bill / per expense tool: a month is the latest version of every inbox entry
# (pipelines/storage.py current_deliveries), not just the newest delivery.
ACCUMULATES = True
DEC = "DECIMAL(38,12)"

# The canonical fields every format maps; the first four must be found in a file's header
# (currency may instead come from the format's default_currency).
FIELDS = ("date", "amount", "currency", "merchant", "descriptor", "mcc", "employee", "department",
          "category", "description", "expense_id", "refund_marker")
REQUIRED = ("date", "amount", "currency", "merchant")

# Date layouts tried in order (DuckDB strptime); ISO timestamps with a zone fall through to a cast.
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y", "%m/%d/%Y %H:%M:%S",
                "%m/%d/%y")


@dataclass(frozen=True)
class ExpenseFormat:
    name: str
    issuer: str  # the expense platform / card issuer (BillingAccountName)
    columns: dict[str, tuple[str, ...]]  # canonical field -> accepted header names, first found wins
    amount_in_cents: bool = False
    default_currency: str | None = None  # when the file has no currency column
    refund_values: tuple[str, ...] = ()  # refund_marker values whose amount is made negative
    date_formats: tuple[str, ...] = DATE_FORMATS


def _cols(**names: str | tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return {k: (v,) if isinstance(v, str) else v for k, v in names.items()}


# The four products (sources in the module docstring). Order matters only for a tie.
FORMATS: tuple[ExpenseFormat, ...] = (
    ExpenseFormat("concur", "SAP Concur", _cols(
        date="Report Entry Transaction Date", amount="Journal Amount",
        currency=("Reimbursement Currency", "Report Entry Transaction Currency Alpha Code"),
        merchant=("Report Entry Vendor Name", "Report Entry Vendor Description"),
        descriptor=("Credit Card Transaction Description", "Report Entry Vendor Description"),
        mcc="Credit Card Transaction Merchant Category Code", employee="Employee ID",
        department="Cost Center", category="Report Entry Expense Type Name",
        description="Report Entry Description", expense_id=("Report ID", "Report Key"),
        refund_marker="Journal Debit Or Credit"),
        refund_values=("CR",)),
    ExpenseFormat("expensify", "Expensify", _cols(
        date="Timestamp", amount="Original Amount", currency="Original Currency", merchant="Merchant",
        mcc="MCC", department="Tag", category="Category", description="Comment")),
    ExpenseFormat("expensify-api", "Expensify", _cols(
        date=("modifiedCreated", "created"), amount="amount", currency="currency",
        merchant=("modifiedMerchant", "merchant"), mcc="mcc", employee="accountEmail",
        department="tag", category="category", description="comment",
        expense_id=("transactionID", "reportID")),
        amount_in_cents=True),
    ExpenseFormat("ramp", "Ramp", _cols(
        date=("Transaction Date", "Transaction Time", "user_transaction_time"),
        amount=("Amount", "amount"), currency=("Currency", "currency_code"),
        merchant=("Merchant Name", "merchant_name"), descriptor=("Merchant Descriptor", "merchant_descriptor"),
        mcc=("MCC", "Merchant Category Code", "merchant_category_code"),
        employee=("User", "Cardholder", "Card Holder", "card_holder"),
        department=("Department", "department_name"), category=("Ramp Category", "Category", "sk_category_name"),
        description=("Memo", "memo"), expense_id=("Transaction ID", "id")),
        default_currency="USD"),
    ExpenseFormat("brex", "Brex", _cols(
        date=("initiated_at_date", "posted_at_date"), amount=("amount.amount", "amount"),
        currency=("amount.currency", "currency"), merchant=("merchant_name", "description"),
        descriptor=("merchant.raw_descriptor", "raw_descriptor"),
        mcc=("merchant.mcc", "merchant_category_code"), employee=("user", "card_owner", "card_id"),
        department="department", category="category", description="memo", expense_id="id",
        refund_marker="type"),
        amount_in_cents=True, refund_values=("REFUND", "CHARGEBACK")),
)


# ---- the config's own formats ----------------------------------------------------------------

_CONFIG_KEYS = {"name", "issuer", "columns", "amount_in_cents", "default_currency", "refund_values",
                "date_formats"}


def parse_formats(raw) -> tuple[ExpenseFormat, ...]:
    """The config's `expense_formats:` list; ValueError names the first wrong key.

        expense_formats:
          - name: pleo
            issuer: Pleo
            amount_in_cents: false
            columns: {date: Date, amount: Amount, currency: Currency, merchant: Merchant,
                      employee: User, department: Team}
    """
    if not isinstance(raw, list):
        raise ValueError("'expense_formats' must be a list of formats (name, issuer, columns...)")
    out, names = [], {f.name for f in FORMATS}
    for i, item in enumerate(raw):
        where = f"expense_formats[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"'{where}' must be a mapping with name, issuer and columns")
        for key in item:
            if key not in _CONFIG_KEYS:
                raise ValueError(f"unknown key '{where}.{key}' (expected one of: {', '.join(sorted(_CONFIG_KEYS))})")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"'{where}.name' is required (text)")
        if name in names:
            raise ValueError(f"'{where}.name': format '{name}' is already defined")
        names.add(name)
        columns = item.get("columns")
        if not isinstance(columns, dict):
            raise ValueError(f"'{where}.columns' must map fields ({', '.join(FIELDS)}) to header names")
        mapped = {}
        for key, value in columns.items():
            if key not in FIELDS:
                raise ValueError(f"unknown key '{where}.columns.{key}' (expected one of: {', '.join(FIELDS)})")
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
                raise ValueError(f"'{where}.columns.{key}' must be a header name or a list of them")
            mapped[key] = tuple(values)
        default_currency = item.get("default_currency")
        if default_currency is not None and default_currency not in ISO_4217:
            raise ValueError(f"'{where}.default_currency': {default_currency!r} is not an ISO 4217 code")
        missing = [f for f in REQUIRED if f not in mapped and not (f == "currency" and default_currency)]
        if missing:
            raise ValueError(f"'{where}.columns.{missing[0]}' is required")
        cents = item.get("amount_in_cents", False)
        if not isinstance(cents, bool):
            raise ValueError(f"'{where}.amount_in_cents' must be true or false")
        refunds = item.get("refund_values", [])
        dates = item.get("date_formats", list(DATE_FORMATS))
        for key, value in (("refund_values", refunds), ("date_formats", dates)):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"'{where}.{key}' must be a list of text values")
        issuer = item.get("issuer", name)
        if not isinstance(issuer, str):
            raise ValueError(f"'{where}.issuer' must be text")
        out.append(ExpenseFormat(name, issuer, mapped, cents, default_currency, tuple(refunds), tuple(dates)))
    return tuple(out)


# FileMapping keyword -> config section that supplies it (read by pipelines.config.Config.options).
CONFIG_OPTIONS = {"formats": "expense_formats"}


# ---- one file -------------------------------------------------------------------------------

def _key(name: str) -> str:
    return name.strip().lower()


@dataclass
class _Match:
    fmt: ExpenseFormat
    positions: dict[str, int] = field(default_factory=dict)  # field -> header position
    missing: list[str] = field(default_factory=list)  # required fields not found


def _match(fmt: ExpenseFormat, header: list[str]) -> _Match:
    where = {}
    for i, name in enumerate(header):
        where.setdefault(_key(name), i)
    m = _Match(fmt)
    for f, names in fmt.columns.items():
        found = next((where[_key(n)] for n in names if _key(n) in where), None)
        if found is not None and found not in m.positions.values():
            m.positions[f] = found
    m.missing = [f for f in REQUIRED if f not in m.positions and not (f == "currency" and fmt.default_currency)]
    return m


class FileMapping:
    """The detected format of one export and where its fields are."""

    def __init__(self, path: Path, formats: tuple[ExpenseFormat, ...] = ()):
        self.path = path
        self.header = read_header(path)
        candidates = list(formats) + list(FORMATS)  # the config's first: it may refine a built-in
        matches = [_match(f, self.header) for f in candidates]
        full = [m for m in matches if not m.missing]
        if not full:
            raise self._no_format(matches, candidates)
        # The most specific format wins: the one that maps most of the header.
        best = max(full, key=lambda m: (len(m.positions), -full.index(m)))
        self.format = best.fmt
        self.renames = {pos: f for f, pos in best.positions.items()}  # header position -> field
        self.source_names = {f: self.header[pos] for f, pos in best.positions.items()}  # field -> header name

    def _no_format(self, matches: list[_Match], candidates) -> BadInputError:
        # A header that has most of one format's required columns is that format with one missing.
        near = [m for m in matches if len(REQUIRED) - len(m.missing) >= 2 and _distinctive(m, self.header)]
        if near:
            m = max(near, key=lambda m: len(m.positions))
            names = m.fmt.columns[m.missing[0]]
            return BadInputError(self.path.name, f"missing required column {' or '.join(repr(n) for n in names)} "
                                                 f"({m.missing[0]}) for the {m.fmt.name} expense export format",
                                 column=names[0])
        known = ", ".join(f.name for f in candidates)
        return BadInputError(self.path.name, f"unknown expense export format: the header matches none of the "
                                             f"known formats ({known}); map it under 'expense_formats:' in the config")

    def relation(self, stream: str | None = None, rows: bool = True) -> str:
        """Every field as text (NULL when the file lacks it), plus __row and __file."""
        inner = raw_relation(self.path, self.header, self.renames, stream, rows)
        cols = ", ".join(f"NULLIF(trim({sql_ident(f)}), '') AS {sql_ident(f)}" if f in self.source_names
                         else f"CAST(NULL AS VARCHAR) AS {sql_ident(f)}" for f in FIELDS)
        return f"SELECT __row, {sql_str(self.path.name)} AS __file, {cols} FROM ({inner})"

    def column(self, f: str) -> str:
        return self.source_names.get(f, f)


def _distinctive(m: _Match, header: list[str]) -> bool:
    """True when the header has a column only this format uses (not a generic Amount or Date)."""
    generic = {"amount", "date", "currency", "merchant", "description", "category", "id", "type", "memo"}
    return any(_key(header[p]) not in generic for p in m.positions.values())


VARIABLE = "aispend_expense_formats"
_FORMAT_TYPE = "STRUCT(name VARCHAR, issuer VARCHAR, currency VARCHAR, refunds VARCHAR[], dates VARCHAR[])[]"


def bind_variables(con, mappings: list[FileMapping]) -> None:
    """Bind the texts of each file's format (name, issuer, default currency, refund markers,
    date layouts; a config-mapped format's come from the config) as a DuckDB variable, which the
    queries read with getvariable(): data, never SQL text. Call before running them."""
    con.execute(f"SET VARIABLE {VARIABLE} = CAST(? AS {_FORMAT_TYPE})", [[
        {"name": f.name, "issuer": f.issuer, "currency": f.default_currency,
         "refunds": [v.upper() for v in f.refund_values], "dates": list(f.date_formats)}
        for f in (m.format for m in mappings)]])


def typed_relation(mapping: FileMapping, index: int, stream: str | None = None, rows: bool = True) -> str:
    """The rows of the `index`-th file bound by bind_variables(), with a checked date, amount and
    currency (bad input names row and column) and its format's constants."""
    fmt = mapping.format
    var = f"getvariable({sql_str(VARIABLE)})[{int(index) + 1}]"
    amount_col, date_col, cur_col = (mapping.column(f) for f in ("amount", "date", "currency"))
    number = f"TRY_CAST(replace(amount, ' ', '') AS {DEC})"
    bad_amount = bad_input_sql(amount_col, "'value ' || coalesce('''' || amount || '''', 'NULL') || ' is not a number'")
    scaled = f"({number} * 0.01)" if fmt.amount_in_cents else number
    refund = ("false" if "refund_marker" not in mapping.source_names
              else f"list_contains({var}.refunds, upper(refund_marker))")
    signed = f"CASE WHEN {refund} THEN -abs({scaled}) ELSE {scaled} END"
    parsed = f"coalesce(try_strptime(date, {var}.dates), TRY_CAST(date AS TIMESTAMPTZ))"
    bad_date = bad_input_sql(date_col, "'value ' || coalesce('''' || date || '''', 'NULL') || ' is not a date'")
    currency = f"upper(coalesce(currency, {var}.currency))"
    bad_merchant = bad_input_sql(mapping.column("merchant"), "'no merchant name'")
    return (f"SELECT *, CAST(date_trunc('month', __date) AS TIMESTAMPTZ) AS __period FROM ("
            f"SELECT __row, __file, merchant, descriptor, mcc, employee, department, category, description, "
            f"expense_id, "
            f"{var}.name AS __format, {var}.issuer AS __issuer, "
            f"CAST(CASE WHEN {number} IS NULL THEN {bad_amount} ELSE {signed} END AS {DEC}) AS __amount, "
            f"CAST(CASE WHEN {parsed} IS NULL THEN {bad_date} ELSE date_trunc('day', {parsed}) END "
            f"AS TIMESTAMPTZ) AS __date, "
            f"{currency_sql(currency, cur_col, shown='currency')} AS __currency, "
            f"CASE WHEN coalesce(merchant, descriptor) IS NULL THEN {bad_merchant} "
            f"ELSE coalesce(merchant, descriptor) END AS __merchant "
            f"FROM ({mapping.relation(stream, rows)}))")


def focus_expressions() -> dict[str, str]:
    """FOCUS column -> SQL expression over typed_relation()."""
    purchase = "__amount >= 0"
    tags = "CASE WHEN department IS NOT NULL THEN to_json({'department': department}) END"
    return {
        "BilledCost": "__amount",
        "EffectiveCost": "__amount",
        "ListCost": "__amount",
        "ContractedCost": "__amount",
        "BillingAccountId": "__format",
        "BillingAccountName": "__issuer",
        "BillingCurrency": "__currency",
        "BillingPeriodStart": "__period",
        "BillingPeriodEnd": "__period + INTERVAL 1 MONTH",
        "ChargeCategory": f"CASE WHEN {purchase} THEN 'Purchase' ELSE 'Credit' END",
        "ChargeClass": "NULL",
        "ChargeDescription": "coalesce(description, category, __merchant)",
        "ChargeFrequency": "'One-Time'",
        "ChargePeriodStart": "__date",
        "ChargePeriodEnd": "__date + INTERVAL 1 DAY",
        # The merchant, not the card issuer or platform: FOCUS 1.2 (BilledCost-C-005-C) makes
        # BilledCost 0 wherever InvoiceIssuerName differs from ProviderName (a third party
        # collects the payment), and an expense is paid to the merchant in full. The platform
        # stays in BillingAccountName.
        "InvoiceIssuerName": "__merchant",
        # One purchase of one unit at its price; a refund has no price or quantity.
        "PricingCategory": f"CASE WHEN {purchase} THEN 'Standard' END",
        "PricingQuantity": f"CASE WHEN {purchase} THEN 1 END",
        "PricingUnit": f"CASE WHEN {purchase} THEN 'Units' END",
        "ListUnitPrice": f"CASE WHEN {purchase} THEN __amount END",
        "ContractedUnitPrice": f"CASE WHEN {purchase} THEN __amount END",
        "ProviderName": "__merchant",
        "PublisherName": "__merchant",
        "ServiceCategory": "'Other'",
        "ServiceSubcategory": "'Other (Other)'",
        "ServiceName": "__merchant",
        "Tags": tags,
        "x_Source": sql_str(SOURCE),
        "x_SourceFile": "__file",
        "x_SourceRow": "__row",
        "x_ExpenseFormat": "__format",
        "x_MerchantDescriptor": "coalesce(descriptor, __merchant)",
        "x_Mcc": "mcc",
        "x_Employee": "employee",
        "x_Department": "department",
        "x_ExpenseCategory": "category",
        "x_ExpenseId": "expense_id",
    }


def focus_query(mappings: list[FileMapping], streams: list[str | None] | None = None) -> str:
    """One SELECT of FOCUS rows from every file of a delivery, whatever their formats (run it
    after bind_variables(con, mappings))."""
    streams = streams or [None] * len(mappings)
    union = " UNION ALL ".join(f"({typed_relation(m, i, s)})" for i, (m, s) in enumerate(zip(mappings, streams)))
    return f"SELECT {select_list(focus_expressions())} FROM ({union})"


# Bad values are reported by the typed relation itself (error() naming row and column).
NUMERIC: tuple[str, ...] = ()
TIMESTAMPS: tuple[str, ...] = ()


def source_totals_sql(mapping: FileMapping, index: int) -> str:
    """The export's own total per transaction month and currency, for the conservation check."""
    return (f"SELECT strftime(__period, '%Y-%m') AS billing_period, __currency AS currency, sum(__amount) AS total "
            f"FROM ({typed_relation(mapping, index)}) GROUP BY ALL")


def delivery_totals_sql(mappings: list[FileMapping]) -> str:
    """Every file's totals, summed (run it after bind_variables(con, mappings))."""
    return summed_totals_sql([source_totals_sql(m, i) for i, m in enumerate(mappings)])


def billing_periods(mapping: FileMapping, con) -> list[str]:
    """Every transaction month in the file. A bad date is reported here, at landing (through the
    Arrow reader, whose row numbers are the file's); other bad values when it is normalized."""
    import uuid

    import duckdb
    stream = None
    if not is_parquet(mapping.path):
        stream = f"__periods_{uuid.uuid4().hex[:8]}"
        con.register(stream, arrow_csv_batches(mapping.path, len(mapping.header)))
    try:
        bind_variables(con, [mapping])
        rows = con.execute(f"SELECT DISTINCT strftime(__period, '%Y-%m') FROM ({typed_relation(mapping, 0, stream)}) "
                           f"ORDER BY 1").fetchall()
    except (duckdb.Error, pa.ArrowInvalid) as exc:
        import sys
        from .normalize import explain_failure
        raise explain_failure(sys.modules[__name__], [mapping], exc) from exc
    finally:
        if stream:
            try:
                con.unregister(stream)
            except duckdb.Error:
                pass
    if not rows:
        raise BadInputError(mapping.path.name, "the export has a header but no expenses")
    return [p for (p,) in rows]
