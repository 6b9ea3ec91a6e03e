"""Anthropic Admin API exports (saved JSON pages) -> FOCUS 1.2.

Two endpoints (Claude API reference, "Usage and Cost API": platform.claude.com/docs/en/api/admin/
cost_report and .../usage_report/retrieve_messages), told apart by their fields:
  GET /v1/organizations/cost_report
      bucket {starting_at, ending_at (RFC 3339), results[]}; result {amount, currency,
      cost_type (tokens | web_search | code_execution), token_type, model, workspace_id,
      service_tier, context_window, description}. `amount` is a decimal STRING in the
      currency's lowest unit: "123.45" USD is $1.2345. Converted exactly: Decimal(amount) / 100.
  GET /v1/organizations/usage_report/messages
      result {uncached_input_tokens, cache_read_input_tokens, cache_creation
      {ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}, output_tokens, model,
      workspace_id, api_key_id, service_tier, server_tool_use {web_search_requests}}.
A null workspace_id is the organization's Default Workspace. A file is one page or a list of pages.
Cost is authoritative; usage adds token quantities (see normalizers/ai_vendors.py)."""
from __future__ import annotations

from decimal import Decimal, localcontext

from . import ai_vendors as av

SOURCE = "anthropic"
PROVIDER = "Anthropic"
SERVICE = "Claude API"
ACCOUNT = "anthropic-organization"
NUMERIC: tuple[str, ...] = ()
TIMESTAMPS: tuple[str, ...] = ()
CENTS = Decimal(100)  # amounts are in cents; "Currently always USD" (cost_report reference)
DEFAULT_WORKSPACE = ("default", "Default Workspace")

# token_type (cost report) and usage field -> rate-card meter
METERS = {
    "uncached_input_tokens": "input",
    "cache_read_input_tokens": "cached_read",
    "cache_creation.ephemeral_5m_input_tokens": "cache_write_5m",
    "cache_creation.ephemeral_1h_input_tokens": "cache_write_1h",
    "output_tokens": "output",
}

class FileMapping(av.PagesMapping):
    BUCKET_PERIOD = ("rfc3339", "starting_at", "ending_at")

    def _lines(self, item: av.Item, ordinal: int, start, end) -> list[av.Line]:
        if "amount" in item.obj:
            return [self._cost(item, ordinal, start, end)]
        if "uncached_input_tokens" in item.obj or "output_tokens" in item.obj:
            return self._usage(item, ordinal, start, end)
        raise item.bad("amount", "missing field: a result is a cost_report result (amount) or a "
                                 "usage_report/messages result (uncached_input_tokens, ...)")

    def _base(self, item: av.Item, ordinal: int, start, end) -> dict:
        workspace = item.text("workspace_id")
        sub_id, sub_name = (workspace, item.text("workspace_name")) if workspace else DEFAULT_WORKSPACE
        return dict(row=ordinal, file=self.path.name, ref=item.ref, charge_start=start, charge_end=end,
                    provider=PROVIDER, billing_account_id=ACCOUNT, billing_account_type="Organization",
                    service_name=SERVICE, sub_account_id=sub_id, sub_account_name=sub_name,
                    sub_account_type="Workspace", resource_id=item.text("api_key_id"), resource_type="API Key")

    def _cost(self, item: av.Item, ordinal: int, start, end) -> av.Line:
        cents = item.number("amount")
        with localcontext(prec=60):  # exact: a cents value has at most 38 digits (DECIMAL(38,12))
            amount = cents / CENTS
        currency = item.currency("currency", default="USD")
        cost_type = item.text("cost_type")
        token_type = item.text("token_type")
        model = item.text("model")
        tier = item.text("service_tier")
        meter = METERS.get(token_type, token_type) if token_type else cost_type
        description = item.text("description") or " ".join(
            p for p in (model, (meter or "").replace("_", " "), cost_type and f"({cost_type})") if p) or "Claude API costs"
        self.add_cost(start.strftime("%Y-%m"), currency, amount)
        return av.Line(**self._base(item, ordinal, start, end), kind="cost", currency=currency,
                       charge_category="Credit" if amount < 0 else "Usage", billed=amount, sku_id=model,
                       sku_meter=meter, description=description + (f" [{tier}]" if tier and tier != "standard" else ""),
                       charge_type=cost_type or "cost")

    def _usage(self, item: av.Item, ordinal: int, start, end) -> list[av.Line]:
        model = item.text("model")
        tier = item.text("service_tier")
        batch = tier == "batch"
        price = av.rate_card().price(PROVIDER, model, start.date()) if model else None
        counts = [(meter, item.tokens(field, required=field in ("uncached_input_tokens", "output_tokens")))
                  for field, meter in METERS.items()]
        return av.usage_lines(self._base(item, ordinal, start, end), counts, model, price, batch)



def focus_query(mappings: list[FileMapping], streams: list[str | None]) -> str:
    return av.focus_query(SOURCE, mappings, streams)


def delivery_totals_sql(mappings: list[FileMapping]) -> str:
    return av.totals_sql(mappings)


billing_periods = av.billing_periods
