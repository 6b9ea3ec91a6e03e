"""OpenAI Admin API exports (saved JSON pages) -> FOCUS 1.2.

Two endpoints, told apart by each result's `object`:
  GET /v1/organization/costs              -> organization.costs.result
      bucket {start_time, end_time (Unix s), results[]}; result {amount {value, currency},
      line_item, project_id, api_key_id, quantity}; value is a number or a numeric string,
      currency lower case ('usd').
  GET /v1/organization/usage/completions  -> organization.usage.completions.result
      result {input_tokens (text input, cached included), input_cached_tokens,
      input_audio_tokens, output_tokens, output_audio_tokens, num_model_requests, model,
      project_id, api_key_id, batch, service_tier}.
Shapes as in OpenAI's API reference (developers.openai.com/api/reference, "Costs" and
"Completions usage"; the OpenAPI spec 2.3.0 field texts). A file is one page or a list of pages.

A costs line_item reads '<model>, <meter>' (e.g. 'gpt-4o-2024-08-06, input'): the model becomes
SkuId and the meter SkuMeter; other line items ('web search tool calls') keep the text only.
Cost is authoritative; usage adds token quantities (see normalizers/ai_vendors.py)."""
from __future__ import annotations

import re
from decimal import Decimal

from . import ai_vendors as av

SOURCE = "openai"
PROVIDER = "OpenAI"
SERVICE = "OpenAI API"
ACCOUNT = "openai-organization"  # the Admin API exports one organization and do not name it
NUMERIC: tuple[str, ...] = ()    # values are checked while reading, not by normalize.py's probe
TIMESTAMPS: tuple[str, ...] = ()

COST_RESULT = "organization.costs.result"
USAGE_RESULT = "organization.usage.completions.result"

# line_item words -> FOCUS ChargeCategory (first match); anything else is Usage.
CHARGE_CATEGORIES = [(re.compile(r"\btax\b|\bvat\b", re.I), "Tax"),
                     (re.compile(r"\bcredit|\brefund", re.I), "Credit"),
                     (re.compile(r"\badjustment", re.I), "Adjustment")]

# usage field -> rate-card meter, in output order; input is the uncached part of input_tokens.
USAGE_METERS = [("input", "input"), ("input_cached_tokens", "cached_read"),
                ("input_audio_tokens", "audio_input"), ("output_tokens", "output"),
                ("output_audio_tokens", "audio_output")]

def charge_category(line_item: str | None, amount: Decimal) -> str:
    for pattern, category in CHARGE_CATEGORIES:
        if line_item and pattern.search(line_item):
            return category
    return "Credit" if amount < 0 else "Usage"


class FileMapping(av.PagesMapping):
    BUCKET_PERIOD = ("unix_time", "start_time", "end_time")

    def _lines(self, item: av.Item, ordinal: int, start, end) -> list[av.Line]:
        raw = item.obj
        kind = item.text("object") or ("cost" if "amount" in raw else "usage" if "input_tokens" in raw else None)
        if kind in (COST_RESULT, "cost"):
            return [self._cost(item, ordinal, start, end)]
        if kind in (USAGE_RESULT, "usage"):
            return self._usage(item, ordinal, start, end)
        raise item.bad("object", f"unknown result {kind!r} (aispend reads {COST_RESULT} and "
                                 f"{USAGE_RESULT}: the costs and completions usage endpoints)")

    def _base(self, item: av.Item, ordinal: int, start, end) -> dict:
        project = item.text("project_id")
        return dict(row=ordinal, file=self.path.name, ref=item.ref, charge_start=start, charge_end=end,
                    provider=PROVIDER, billing_account_id=ACCOUNT, billing_account_type="Organization",
                    service_name=SERVICE, sub_account_id=project,
                    sub_account_name=item.text("project_name"), sub_account_type="Project",
                    resource_id=item.text("api_key_id"), resource_type="API Key")

    def _cost(self, item: av.Item, ordinal: int, start, end) -> av.Line:
        amount = item.number("amount.value")
        currency = item.currency("amount.currency")
        line_item = item.text("line_item")
        model, _, meter = line_item.partition(", ") if line_item and ", " in line_item else (None, "", None)
        category = charge_category(line_item, amount)
        quantity = item.number("quantity", required=False)
        self.add_cost(start.strftime("%Y-%m"), currency, amount)
        return av.Line(**self._base(item, ordinal, start, end), kind="cost", currency=currency, charge_category=category,
                       charge_frequency="Usage-Based" if category == "Usage" else "One-Time",
                       billed=amount, sku_id=model, sku_meter=meter or None,
                       description=line_item or "OpenAI API costs",
                       pricing_quantity=quantity, pricing_unit="Units" if quantity is not None else None,
                       charge_type="cost")

    def _usage(self, item: av.Item, ordinal: int, start, end) -> list[av.Line]:
        model = item.text("model")
        batch = item.raw("batch") is True
        counts = {f: item.tokens(f) for f, _ in USAGE_METERS if f != "input"}
        total_input = item.tokens("input_tokens", required=True)
        item.tokens("output_tokens", required=True)
        item.tokens("num_model_requests", required=True)
        counts["input"] = total_input - counts["input_cached_tokens"]
        if counts["input"] < 0:
            raise item.bad("input_cached_tokens", f"{counts['input_cached_tokens']} cached tokens exceed "
                                                  f"input_tokens {total_input}")
        price = av.rate_card().price(PROVIDER, model, start.date()) if model else None
        return av.usage_lines(self._base(item, ordinal, start, end),
                              [(meter, counts[field]) for field, meter in USAGE_METERS], model, price, batch)



def focus_query(mappings: list[FileMapping], streams: list[str | None]) -> str:
    return av.focus_query(SOURCE, mappings, streams)


def delivery_totals_sql(mappings: list[FileMapping]) -> str:
    return av.totals_sql(mappings)


billing_periods = av.billing_periods
