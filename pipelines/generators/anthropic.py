"""A month of Anthropic Admin API exports, as saved while paging: `cost_report_pNN.json`
(GET /v1/organizations/cost_report, group_by workspace_id and description: amounts are decimal
strings in cents) and `usage_messages_pNN.json` (GET /v1/organizations/usage_report/messages,
group_by workspace_id, model, service_tier, api_key_id), 7 daily buckets a page, in one folder
= one delivery.

Several workspaces (one is the Default Workspace, workspace_id null), Sonnet/Haiku/Opus, prompt
caching (reads, 5-minute and 1-hour writes), Message Batches (service_tier batch), and a little
web search billed only in the cost report. Deterministic for a seed."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from normalizers.token_prices import MODEL_PRICES, RateCard

from . import write_pages
from .openai import month_days

FORMATS = ("json",)
WORKSPACES = [  # id (None: Default Workspace), api key, models with (requests/day, input, output per request)
    ("wrkspc_01JuristAssist", "apikey_01legal", [("claude-sonnet-4-5-20250929", 900, 6000, 700),
                                                 ("claude-haiku-4-5-20251001", 3000, 1200, 200)]),
    ("wrkspc_01CodeReview", "apikey_01ci", [("claude-opus-4-1-20250805", 120, 9000, 1500),
                                            ("claude-sonnet-4-5-20250929", 600, 7000, 900)]),
    ("wrkspc_01Analytics", "apikey_01etl", [("claude-haiku-4-5-20251001", 8000, 900, 120)]),
    (None, "apikey_01proto", [("claude-sonnet-4-5-20250929", 80, 3000, 500)]),
]
BATCH_WORKSPACE = "wrkspc_01Analytics"
TOKEN_TYPES = {"input": "uncached_input_tokens", "cached_read": "cache_read_input_tokens",
               "cache_write_5m": "cache_creation.ephemeral_5m_input_tokens",
               "cache_write_1h": "cache_creation.ephemeral_1h_input_tokens", "output": "output_tokens"}
WEB_SEARCH_CENTS_PER_DAY = 150  # $10 per 1,000 searches, ~150 searches a day in one workspace


def _iso(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def usage_results(period: str, seed: int) -> dict[dt.date, list[dict]]:
    rng = random.Random(seed)
    out = {}
    for day in month_days(period):
        scale = 1.0 if day.weekday() < 5 else 0.3
        results = []
        for workspace, key, models in WORKSPACES:
            for model, requests, tin, tout in models:
                n = int(requests * scale * rng.uniform(0.7, 1.3))
                if n == 0:
                    continue
                batch = workspace == BATCH_WORKSPACE
                prompt = n * int(tin * rng.uniform(0.8, 1.2))
                read = 0 if batch else int(prompt * rng.uniform(0.2, 0.7))
                write_5m = 0 if batch else int(prompt * rng.uniform(0.02, 0.08))
                write_1h = int(prompt * 0.01) if model.startswith("claude-opus") else 0
                results.append({
                    "uncached_input_tokens": prompt - read - write_5m - write_1h,
                    "cache_read_input_tokens": read,
                    "cache_creation": {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h},
                    "output_tokens": n * int(tout * rng.uniform(0.8, 1.2)),
                    "server_tool_use": {"web_search_requests": 0},
                    "api_key_id": key, "workspace_id": workspace, "model": model,
                    "service_tier": "batch" if batch else "standard", "context_window": "0-200k"})
        out[day] = results
    return out


def _tokens(r: dict, meter: str) -> int:
    field = TOKEN_TYPES[meter]
    return r["cache_creation"][field.split(".")[1]] if "." in field else r[field]


def cost_results(usage: dict[dt.date, list[dict]], card: RateCard) -> dict[dt.date, list[dict]]:
    """The cost report for that usage: per (workspace, model, token type, tier), in cents."""
    out = {}
    for day, results in usage.items():
        rows = []
        for r in results:
            price = card.price("anthropic", r["model"], day)
            batch = r["service_tier"] == "batch"
            for meter, token_type in TOKEN_TYPES.items():
                tokens = _tokens(r, meter)
                if tokens:
                    dollars = price.cost(meter, tokens, batch)
                    rows.append({"currency": "USD", "amount": format((dollars * 100).normalize(), "f"),
                                 "workspace_id": r["workspace_id"],
                                 "description": f"Claude {r['model']} Usage - {token_type}",
                                 "cost_type": "tokens", "context_window": "0-200k", "model": r["model"],
                                 "service_tier": r["service_tier"], "token_type": token_type, "inference_geo": None})
        rows.append({"currency": "USD", "amount": str(WEB_SEARCH_CENTS_PER_DAY), "workspace_id": "wrkspc_01JuristAssist",
                     "description": "Web Search Usage", "cost_type": "web_search", "context_window": None,
                     "model": None, "service_tier": None, "token_type": None, "inference_geo": None})
        out[day] = rows
    return out


def _pages(by_day: dict[dt.date, list[dict]], per_page: int = 7) -> list[dict]:
    days = sorted(by_day)
    chunks = [days[i:i + per_page] for i in range(0, len(days), per_page)]
    return [{"data": [{"starting_at": _iso(d), "ending_at": _iso(d + dt.timedelta(days=1)), "results": by_day[d]}
                      for d in chunk],
             "has_more": n < len(chunks) - 1, "next_page": None if n == len(chunks) - 1 else f"page_{n + 2:04d}"}
            for n, chunk in enumerate(chunks)]


def generate(out: Path, rows: int | None = None, period: str = "2026-10", seed: int = 42, fmt: str = "json",
             costs: bool = True, usage: bool = True, card: RateCard | None = None) -> Path:
    """Write one delivery folder `out` (cost report and/or usage pages); `rows` is unused."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    card = card or RateCard.load(MODEL_PRICES)
    used = usage_results(period, seed)
    if usage:
        write_pages(out, "usage_messages", _pages(used))
    if costs:
        write_pages(out, "cost_report", _pages(cost_results(used, card)))
    return out
