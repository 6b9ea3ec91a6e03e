"""A plain invoice CSV -> FOCUS 1.2, so a line from any AI vendor's bill can be loaded (code
assistant seats, a chat assistant's team plan, an inference API billed by invoice).

Columns (header names; order free, extra columns ignored):
  vendor, invoice_id, invoice_date (YYYY-MM-DD), description, amount, currency   required
  service_period_start, service_period_end (YYYY-MM-DD, both inclusive), quantity, unit,
  service (the product, e.g. 'GitHub Copilot Business'), charge_category (Usage, Purchase,
  Tax, Credit, Adjustment), account (the customer account at the vendor)       optional
One file may hold many vendors: ProviderName, PublisherName and InvoiceIssuerName are the row's
vendor. The billing period is the invoice date's month. Without a charge_category a line is a
Purchase (Recurring when it names a service period), and a negative amount a Credit."""
from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal, InvalidOperation

from . import ai_vendors as av
from .currencies import ISO_4217
from .errors import BadInputError

SOURCE = "invoices"
PROVIDER = "AI Invoices"  # the partition (provider=ai-invoices); each row names its vendor
# One file per bill / per expense tool: a month is the latest version of every inbox entry
# (pipelines/storage.py current_deliveries), not just the newest delivery.
ACCUMULATES = True
NUMERIC: tuple[str, ...] = ()
TIMESTAMPS: tuple[str, ...] = ()

REQUIRED = ("vendor", "invoice_id", "invoice_date", "description", "amount", "currency")
OPTIONAL = ("service_period_start", "service_period_end", "quantity", "unit", "service", "charge_category",
            "account")
CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
DAY = dt.timedelta(days=1)


class FileMapping(av.LinesMapping):
    def read(self) -> list[av.Line]:
        name = self.path.name
        if self.path.stat().st_size == 0:
            raise BadInputError(name, "the file is empty (0 bytes); expected a header row")
        try:
            with open(self.path, newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.reader(fh))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise BadInputError(name, f"cannot be read as UTF-8 CSV ({exc})") from exc
        header = [h.strip().lower() for h in rows[0]] if rows else []
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise BadInputError(name, f"missing required invoice column(s): {', '.join(missing)}", column=missing[0])
        self.header = rows[0]
        self.source_names = {c: rows[0][header.index(c)] for c in REQUIRED + OPTIONAL if c in header}
        lines = []
        for i, values in enumerate(rows[1:], start=1):
            if not any(v.strip() for v in values):
                continue  # a blank line (spreadsheets leave them)
            if len(values) != len(header):
                raise BadInputError(name, f"expected {len(header)} fields, got {len(values)}", i)
            lines.append(self._line(i, dict(zip(header, (v.strip() for v in values)))))
        if not lines:
            raise BadInputError(name, "the export has a header but no line items")
        return lines

    def _line(self, i: int, row: dict) -> av.Line:
        def bad(col, message):
            return BadInputError(self.path.name, message, i, self.source_names.get(col, col))

        def required(col):
            if not row.get(col):
                raise bad(col, "a value is required")
            return row[col]

        def number(col, needed=False):
            text = required(col) if needed else row.get(col)
            if not text:
                return None
            try:
                value = Decimal(text)
            except InvalidOperation:
                raise bad(col, f"value {text!r} is not a number") from None
            if not value.is_finite():
                raise bad(col, f"value {text!r} is not a number")
            if abs(value) >= av.LIMIT:
                raise bad(col, f"value {text!r} is out of range (at most 26 digits before the point)")
            return value

        def date(col, needed=False):
            text = required(col) if needed else row.get(col)
            if not text:
                return None
            try:
                return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), av.UTC)
            except ValueError:
                raise bad(col, f"value {text!r} is not a date (YYYY-MM-DD)") from None

        vendor = required("vendor")
        amount = number("amount", needed=True)
        currency = required("currency").upper()
        if currency not in ISO_4217:
            raise bad("currency", f"unknown currency code {row['currency']!r} (expected an ISO 4217 code such as USD)")
        invoiced = date("invoice_date", needed=True)
        start, end = date("service_period_start"), date("service_period_end")
        if (start is None) != (end is None):
            raise bad("service_period_end" if start else "service_period_start",
                      "give both service_period_start and service_period_end, or neither")
        if start and end < start:
            raise bad("service_period_end", f"the service period ends before it starts ({row['service_period_start']})")
        category = row.get("charge_category") or ("Credit" if amount < 0 else "Purchase")
        if category not in CATEGORIES:
            raise bad("charge_category", f"unknown charge category {category!r} (expected one of {', '.join(CATEGORIES)})")
        quantity = number("quantity")
        self.add_cost(invoiced.strftime("%Y-%m"), currency, amount)
        return av.Line(
            row=i, file=self.path.name, ref=f"row {i}", kind="invoice",
            charge_start=start or invoiced, charge_end=(end + DAY) if end else invoiced + DAY,
            billing_start=av.month_start(invoiced), provider=vendor, billing_account_id=row.get("account") or vendor,
            billing_account_type="Vendor Account", service_name=row.get("service") or vendor, currency=currency,
            charge_category=category,
            charge_frequency="Recurring" if start and category in ("Purchase", "Usage") else "One-Time",
            billed=amount, description=required("description"), invoice_id=required("invoice_id"),
            pricing_quantity=quantity, pricing_unit=(row.get("unit") or "Units") if quantity is not None else None,
            consumed_quantity=quantity if category == "Usage" else None,
            consumed_unit=(row.get("unit") or "Units") if quantity is not None and category == "Usage" else None,
            charge_type="invoice")


def focus_query(mappings: list[FileMapping], streams: list[str | None]) -> str:
    return av.focus_query(SOURCE, mappings, streams)


def delivery_totals_sql(mappings: list[FileMapping]) -> str:
    return av.totals_sql(mappings)


billing_periods = av.billing_periods
