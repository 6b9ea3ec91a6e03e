"""What the AI-vendor sources (openai, anthropic, invoices) share: reading and validating their
small inputs in Python, one flat "line" table handed to DuckDB as Arrow, and one FOCUS mapping.

Why Python first: vendor exports are small JSON pages (a month is a few thousand results), and
checking them while flattening names the exact item (`data[3].results[1]`) and field of a bad
value. DuckDB then does what it does for every source: one SELECT into FOCUS Parquet.

Never counting twice. A delivery may hold a vendor's cost pages, its usage pages, or both.
  - cost lines carry the vendor's billed amount (authoritative);
  - usage lines carry token quantities, priced from rate_cards/model_prices.csv;
  - in a billing period that has any cost line, usage lines keep their quantities but carry
    cost 0 (x_ChargeType 'usage-covered'): the money is already in the cost lines;
  - usage in a period without a cost export is billed at its rate-card price (a usage line
    whose model has no price is then bad input: it could not be costed).
The conservation check compares with the same rule computed from the raw files (totals_sql)."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path

import pyarrow as pa

from .currencies import ISO_4217
from .errors import BadInputError
from .focus_contract import select_list
from .sources import bad_input_sql, sql_ident, sql_str
from . import token_prices
from .token_prices import PER, RateCard

UTC = dt.timezone.utc
PLACES = Decimal("1e-12")
LIMIT = Decimal("1e26")  # DECIMAL(38,12) holds 26 digits before the point
MONEY = pa.decimal128(38, 12)
TIME = pa.timestamp("us", tz="UTC")


@dataclass
class Line:
    """One FOCUS row before SQL: what a source knows about one charge or one token meter."""
    row: int                    # 1-based ordinal of the item in its file (x_SourceRow)
    file: str
    ref: str                    # where the item is, for messages: 'data[2].results[0]' or 'row 7'
    kind: str                   # cost | usage | invoice
    charge_start: dt.datetime
    charge_end: dt.datetime
    provider: str
    billing_account_id: str
    billing_account_type: str
    service_name: str
    currency: str
    charge_category: str = "Usage"
    charge_frequency: str = "Usage-Based"
    billed: Decimal | None = None           # cost; for usage, the rate-card price (None: no price)
    list_unit_price: Decimal | None = None  # per PricingUnit
    pricing_quantity: Decimal | None = None
    pricing_unit: str | None = None
    consumed_quantity: Decimal | None = None
    consumed_unit: str | None = None
    sku_id: str | None = None               # the model
    sku_meter: str | None = None            # e.g. 'input', 'cached_read', 'output'
    sku_price_id: str | None = None         # the rate-card row that priced it
    description: str | None = None
    sub_account_id: str | None = None
    sub_account_name: str | None = None
    sub_account_type: str | None = None
    resource_id: str | None = None
    resource_type: str | None = None
    invoice_id: str | None = None
    publisher: str | None = None            # default: the provider
    issuer: str | None = None               # default: the provider
    billing_account_name: str | None = None
    charge_type: str | None = None          # the vendor's own type (x_ChargeType)
    billing_start: dt.datetime | None = None  # default: the month of charge_start

    def __post_init__(self):
        if self.billing_start is None:
            self.billing_start = month_start(self.charge_start)

    @property
    def period(self) -> str:
        return self.billing_start.strftime("%Y-%m")


def month_start(t: dt.datetime) -> dt.datetime:
    return dt.datetime(t.year, t.month, 1, tzinfo=UTC)


_TYPES = {"row": pa.int64(), "charge_start": TIME, "charge_end": TIME, "billing_start": TIME, "billed": MONEY,
          "list_unit_price": MONEY, "pricing_quantity": MONEY, "consumed_quantity": MONEY}
SCHEMA = pa.schema([pa.field(f.name, _TYPES.get(f.name, pa.string())) for f in fields(Line)])


def arrow_table(lines: list[Line]) -> pa.Table:
    cols = {f.name: [getattr(l, f.name) for l in lines] for f in fields(Line)}
    with localcontext(prec=38):  # DECIMAL(38,12): the default 28 digits would not hold every value
        for name in ("billed", "list_unit_price", "pricing_quantity", "consumed_quantity"):
            cols[name] = [None if v is None else v.quantize(PLACES) for v in cols[name]]
    return pa.table(cols, schema=SCHEMA)


class LinesMapping:
    """Base of the three sources' FileMapping: `lines` are built (and validated) on creation."""
    header: list[str] = []
    source_names: dict[str, str] = {}

    def __init__(self, path: Path):
        self.path = Path(path)
        self.cost_totals: dict[tuple[str, str], Decimal] = {}
        self.lines: list[Line] = self.read()

    def read(self) -> list[Line]:
        raise NotImplementedError

    def arrow_stream(self) -> pa.RecordBatchReader:
        """The hook normalize.py registers instead of a CSV reader."""
        return arrow_table(self.lines).to_reader()

    def source_totals(self) -> dict[tuple[str, str], dict[str, Decimal]]:
        """(period, currency) -> {'cost': the export's own total of its cost results (summed
        while reading, straight from the amounts), 'usage': the rate-card price of the usage}."""
        out: dict[tuple[str, str], dict[str, Decimal]] = {}
        for key, total in self.cost_totals.items():
            out.setdefault(key, {})["cost"] = total
        for line in self.lines:
            if line.kind == "usage" and line.billed is not None:
                parts = out.setdefault((line.period, line.currency), {})
                parts["usage"] = parts.get("usage", Decimal(0)) + line.billed
        return out

    def add_cost(self, period: str, currency: str, amount: Decimal) -> None:
        key = (period, currency)
        with localcontext(prec=60):  # sums stay exact beyond the default 28 digits
            self.cost_totals[key] = self.cost_totals.get(key, Decimal(0)) + amount


class PagesMapping(LinesMapping):
    """An Admin API export (openai, anthropic): buckets, each with its period, holding results.
    BUCKET_PERIOD names the Item reader of the bucket's start and end, and those two fields;
    a subclass builds each result's lines in `_lines(item, ordinal, start, end)`."""
    BUCKET_PERIOD: tuple[str, str, str]  # (Item method, start field, end field)

    def read(self) -> list[Line]:
        return read_pages(self.path, self._period, self._lines)

    def _period(self, bucket: Item) -> tuple[dt.datetime, dt.datetime]:
        reader, start_field, end_field = self.BUCKET_PERIOD
        start, end = getattr(bucket, reader)(start_field), getattr(bucket, reader)(end_field)
        check_period(bucket, start, end, start_field, end_field)
        return start, end

    def _lines(self, item: Item, ordinal: int, start, end) -> list[Line]:
        raise NotImplementedError


def usage_lines(base: dict, counts: list[tuple[str, int]], model: str | None, price, batch: bool) -> list[Line]:
    """One line per token meter with tokens: quantity in tokens, priced from the rate card
    (`price`, a token_prices.ModelPrice, or None when the model has no price)."""
    out = []
    for meter, tokens in counts:
        if not tokens:
            continue
        unit_price = price.unit_price(meter, batch) if price else None
        out.append(Line(
            **base, kind="usage", currency=price.currency if price else "USD",
            billed=price.cost(meter, tokens, batch) if price else None, list_unit_price=unit_price,
            pricing_quantity=Decimal(tokens) / PER, pricing_unit="1000000 Tokens",
            consumed_quantity=Decimal(tokens), consumed_unit="Tokens", sku_id=model, sku_meter=meter,
            sku_price_id=(f"{price.provider}:{price.model}:{price.effective_from}:{meter}{':batch' if batch else ''}"
                          if unit_price is not None else None),
            description=f"{model or 'all models'} {meter.replace('_', ' ')} tokens{' (batch)' if batch else ''}",
            charge_type="usage"))
    return out


_cards: dict[tuple[Path, float], RateCard] = {}


def rate_card(path: Path | None = None) -> RateCard:
    """The token rate card, read once per version of the file (`path`: default
    rate_cards/model_prices.csv, or token_prices.MODEL_PRICES as a test sets it)."""
    path = Path(path or token_prices.MODEL_PRICES)
    key = (path, path.stat().st_mtime)
    if key not in _cards:
        _cards.clear()
        _cards[key] = RateCard.load(path)
    return _cards[key]


# ---------------------------------------------------------------------------------------------
# FOCUS mapping (one for all three sources)

def focus_expressions() -> dict[str, str]:
    covered = "(kind = 'usage' AND __has_cost)"
    no_price = bad_input_sql("model", "'no rate-card price for model ' || coalesce('''' || sku_id || '''', 'NULL') "
                                      "|| ' (' || ref || ', ' || strftime(charge_start, '%Y-%m-%d') || "
                                      "'); add it to rate_cards/model_prices.csv or deliver the cost export'")
    billed = f"CASE WHEN {covered} THEN 0 WHEN billed IS NULL THEN {no_price} ELSE billed END"
    priced = f"CASE WHEN {covered} THEN NULL ELSE list_unit_price END"
    usage_or_purchase = "charge_category IN ('Usage', 'Purchase')"
    return {
        "BilledCost": billed,
        "BillingAccountId": "billing_account_id",
        "BillingAccountName": "coalesce(billing_account_name, billing_account_id)",
        "BillingAccountType": "billing_account_type",
        "BillingCurrency": "currency",
        "BillingPeriodStart": "__period_start",
        "BillingPeriodEnd": "__period_start + INTERVAL 1 MONTH",
        "ChargeCategory": "charge_category",
        "ChargeDescription": f"CASE WHEN {covered} THEN description || ' (billed in the cost export)' "
                             f"ELSE description END",
        "ChargeFrequency": "charge_frequency",
        "ChargePeriodStart": "charge_start",
        "ChargePeriodEnd": "charge_end",
        "ConsumedQuantity": "CASE WHEN charge_category = 'Usage' THEN consumed_quantity END",
        "ConsumedUnit": "CASE WHEN charge_category = 'Usage' AND consumed_quantity IS NOT NULL THEN consumed_unit END",
        "ContractedCost": billed,
        "ContractedUnitPrice": priced,
        "EffectiveCost": billed,
        "InvoiceId": "invoice_id",
        "InvoiceIssuerName": "coalesce(issuer, provider)",
        "ListCost": billed,
        "ListUnitPrice": priced,
        "PricingCategory": f"CASE WHEN {usage_or_purchase} THEN 'Standard' END",
        "PricingQuantity": f"CASE WHEN {usage_or_purchase} THEN pricing_quantity END",
        "PricingUnit": f"CASE WHEN {usage_or_purchase} AND pricing_quantity IS NOT NULL THEN pricing_unit END",
        "ProviderName": "provider",
        "PublisherName": "coalesce(publisher, provider)",
        "ResourceId": "resource_id",
        "ResourceType": "CASE WHEN resource_id IS NOT NULL THEN resource_type END",
        "ServiceCategory": "'AI and Machine Learning'",
        "ServiceName": "service_name",
        "ServiceSubcategory": "'Generative AI'",
        "SkuId": "sku_id",
        "SkuMeter": "CASE WHEN sku_id IS NOT NULL THEN sku_meter END",  # FOCUS: a meter needs a SKU
        "SkuPriceId": priced.replace("list_unit_price", "sku_price_id"),
        "SubAccountId": "sub_account_id",
        "SubAccountName": "CASE WHEN sub_account_id IS NOT NULL THEN coalesce(sub_account_name, sub_account_id) END",
        "SubAccountType": "CASE WHEN sub_account_id IS NOT NULL THEN sub_account_type END",
        "x_SourceFile": "file",
        "x_SourceRow": "row",
        "x_ChargeType": f"CASE WHEN {covered} THEN 'usage-covered' ELSE coalesce(charge_type, kind) END",
        "x_UsageType": "sku_meter",
    }


def focus_query(source: str, mappings: list, streams: list[str | None]) -> str:
    """All lines of a delivery; a period with any cost line marks its usage lines covered."""
    union = " UNION ALL ".join(f"SELECT * FROM {sql_ident(s)}" for s in streams)
    exprs = focus_expressions() | {"x_Source": sql_str(source)}
    return (f"SELECT {select_list(exprs)} FROM (SELECT *, bool_or(kind = 'cost') OVER (PARTITION BY __period_start) "
            f"AS __has_cost FROM (SELECT *, billing_start AS __period_start, file AS __file, row AS __row FROM ({union})))")


def totals_sql(mappings: list) -> str:
    """The delivery's own totals per (period, currency), from the raw files: the cost export's
    total where a period has one, else the priced usage. The values are closed-set (a YYYY-MM
    period, an ISO 4217 code checked on reading, a Decimal), so they are safe as literals."""
    summed: dict[tuple[str, str], dict[str, Decimal]] = {}
    for m in mappings:
        for key, parts in m.source_totals().items():
            acc = summed.setdefault(key, {})
            for k, v in parts.items():
                acc[k] = acc.get(k, Decimal(0)) + v
    has_cost = {p for (p, _), parts in summed.items() if "cost" in parts}
    rows = []
    for (period, currency), parts in sorted(summed.items()):
        if not (len(period) == 7 and period[:4].isdigit() and period[4] == "-" and period[5:].isdigit()
                and currency in ISO_4217):
            raise ValueError(f"not a period and currency: {period!r}, {currency!r}")  # checked on reading
        total = parts.get("cost", Decimal(0)) if period in has_cost else parts.get("usage", Decimal(0))
        rows.append(f"({sql_str(period)}, {sql_str(currency)}, CAST({sql_str(str(total))} AS DECIMAL(38,18)))")
    if not rows:
        return "SELECT NULL::VARCHAR AS billing_period, NULL::VARCHAR AS currency, NULL::DECIMAL(38,18) AS total LIMIT 0"
    return f"SELECT * FROM (VALUES {', '.join(rows)}) AS t(billing_period, currency, total)"


def billing_periods(mapping, con=None) -> list[str]:
    return sorted({l.period for l in mapping.lines})


# ---------------------------------------------------------------------------------------------
# Reading and checking JSON pages

def load_json(path: Path):
    """A JSON file, with floats kept exact (Decimal)."""
    text = path.read_bytes()
    if not text.strip():
        raise BadInputError(path.name, "the file is empty; expected a JSON page from the vendor's API")
    try:
        return json.loads(text, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise BadInputError(path.name, f"not valid JSON{where}: {getattr(exc, 'msg', exc)}; "
                                       f"the export may be truncated") from exc


def buckets(path: Path, doc) -> list[tuple[str, dict]]:
    """(path, bucket) of every time bucket: the file is one API page ({"data": [...]}) or a list
    of pages as saved while paging."""
    if isinstance(doc, dict):
        pages = [("", doc)]
    elif isinstance(doc, list):
        pages = [(f"[{i}].", page) for i, page in enumerate(doc)]
    else:
        raise BadInputError(path.name, "expected a JSON object (an API page) or a list of pages")
    out = []
    for prefix, page in pages:
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise BadInputError(path.name, "not an API page: expected an object with a 'data' list",
                                prefix.rstrip(".") or None, "data")
        for i, bucket in enumerate(page["data"]):
            where = f"{prefix}data[{i}]"
            if not isinstance(bucket, dict):
                raise BadInputError(path.name, "expected a time bucket object", where)
            out.append((where, bucket))
    return out


class Item:
    """One JSON object in a file, with typed getters whose errors name file, path and field."""

    def __init__(self, file: str, ref: str, obj):
        if not isinstance(obj, dict):
            raise BadInputError(file, "expected an object", ref)
        self.file, self.ref, self.obj = file, ref, obj

    def bad(self, field: str, message: str) -> BadInputError:
        return BadInputError(self.file, message, self.ref, field)

    def raw(self, field: str):
        value = self.obj
        for part in field.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def has(self, field: str) -> bool:
        value = self.obj
        for part in field.split("."):
            if not isinstance(value, dict) or part not in value:
                return False
            value = value[part]
        return True

    def text(self, field: str, required: bool = False) -> str | None:
        value = self.raw(field)
        if value is None:
            if required:
                raise self.bad(field, "missing field" if not self.has(field) else "a value is required")
            return None
        if not isinstance(value, str):
            raise self.bad(field, f"expected text, got {value!r}")
        return value

    def number(self, field: str, required: bool = True) -> Decimal | None:
        """A decimal amount, given as a JSON number or a numeric string."""
        value = self.raw(field)
        if value is None:
            if required:
                raise self.bad(field, "missing field" if not self.has(field) else "a value is required")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            raise self.bad(field, f"value {value!r} is not a number")
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise self.bad(field, f"value {value!r} is not a number") from None
        if not number.is_finite():
            raise self.bad(field, f"value {value!r} is not a number")
        if abs(number) >= LIMIT:
            raise self.bad(field, f"value {value!r} is out of range (at most 26 digits before the point)")
        return number

    def tokens(self, field: str, required: bool = False) -> int:
        """A token count: a non-negative whole number (absent means 0 unless required)."""
        value = self.number(field, required)
        if value is None:
            return 0
        if value < 0 or value != value.to_integral_value():
            raise self.bad(field, f"value {self.raw(field)!r} is not a token count (a whole number >= 0)")
        return int(value)

    def currency(self, field: str, default: str | None = None) -> str:
        value = self.text(field, required=default is None) or default
        code = value.strip().upper()  # OpenAI writes 'usd'
        if code not in ISO_4217:
            raise self.bad(field, f"unknown currency code {value!r} (expected an ISO 4217 code such as USD)")
        return code

    def unix_time(self, field: str) -> dt.datetime:
        value = self.number(field)
        if value != value.to_integral_value():
            raise self.bad(field, f"value {self.raw(field)!r} is not a Unix time in seconds")
        try:
            return dt.datetime.fromtimestamp(int(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise self.bad(field, f"value {self.raw(field)!r} is not a Unix time in seconds") from None

    def rfc3339(self, field: str) -> dt.datetime:
        text = self.text(field, required=True)
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise self.bad(field, f"value {text!r} is not a date/time (RFC 3339)") from None
        if value.tzinfo is None:
            raise self.bad(field, f"value {text!r} has no time zone (RFC 3339 needs one)")
        return value.astimezone(UTC)


def read_pages(path: Path, bucket_period, line_of) -> list[Line]:
    """Every result of an Admin API export (one page or a list of pages) as Lines.
    bucket_period(bucket Item) -> (start, end); line_of(item, ordinal, start, end) -> [Line]."""
    doc = load_json(path)
    lines: list[Line] = []
    ordinal = 0
    for where, raw_bucket in buckets(path, doc):
        bucket = Item(path.name, where, raw_bucket)
        start, end = bucket_period(bucket)
        for ref, raw in results(path, where, bucket):
            ordinal += 1
            lines += line_of(Item(path.name, ref, raw), ordinal, start, end)
    if not lines:
        raise BadInputError(path.name, "the export holds no cost or usage results")
    return lines


def check_period(item: Item, start: dt.datetime, end: dt.datetime, start_field: str, end_field: str) -> None:
    if end <= start:
        raise item.bad(end_field, f"bucket ends ({end:%Y-%m-%dT%H:%M:%SZ}) before it starts "
                                  f"({start:%Y-%m-%dT%H:%M:%SZ}, {start_field})")


def results(path: Path, where: str, bucket: Item) -> list[tuple[str, dict]]:
    key = "results" if "results" in bucket.obj else "result"  # OpenAI's spec has said both
    items = bucket.obj.get(key)
    if not isinstance(items, list):
        raise bucket.bad("results", "missing field: expected a list of results")
    return [(f"{where}.{key}[{j}]", r) for j, r in enumerate(items)]
