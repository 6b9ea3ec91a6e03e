"""A month of OpenAI Admin API exports, as saved while paging: `costs_pNN.json` pages
(GET /v1/organization/costs, group_by project_id and line_item) and `usage_pNN.json` pages
(GET /v1/organization/usage/completions, group_by project_id, model, batch), 7 daily buckets a
page (the API's default limit), written into one folder = one delivery.

Several projects and models, cached input, some Batch API usage, an audio model, and costs that
agree with the usage at rate-card prices. Amounts are JSON numbers, except on some pages where
they are numeric strings (both occur). Deterministic for a seed."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

from normalizers.token_prices import MODEL_PRICES, RateCard

from . import write_pages

FORMATS = ("json",)
PROJECTS = [  # id, name, models with (daily requests, input tokens / request, output tokens / request)
    ("proj_support_bot", "customer-support-bot", [("gpt-4o-mini-2024-07-18", 4000, 900, 220),
                                                  ("gpt-4o-2024-08-06", 300, 1500, 400)]),
    ("proj_search_rag", "search-rag", [("gpt-4.1-2025-04-14", 1200, 3000, 350),
                                       ("gpt-4o-mini-2024-07-18", 2500, 1800, 150)]),
    ("proj_data_science", "data-science", [("o3-mini-2025-01-31", 150, 2500, 3000),
                                           ("gpt-4o-mini-2024-07-18", 5000, 700, 90)]),
    ("proj_voice_agent", "voice-agent", [("gpt-realtime-2025-08-28", 200, 400, 150)]),
]
BATCH_PROJECT = "proj_data_science"   # its gpt-4o-mini work runs through the Batch API
AUDIO_MODEL = "gpt-realtime-2025-08-28"
METER_NAMES = {"input": "input", "cached_read": "cached input", "output": "output",
               "audio_input": "audio input", "audio_output": "audio output"}


def month_days(period: str) -> list[dt.date]:
    first = dt.date.fromisoformat(period + "-01")
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return [first + dt.timedelta(days=i) for i in range((nxt - first).days)]


def _ts(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), dt.timezone.utc).timestamp())


def usage_results(period: str, seed: int) -> dict[dt.date, list[dict]]:
    rng = random.Random(seed)
    out = {}
    for day in month_days(period):
        weekday = day.weekday() < 5
        results = []
        for project, _, models in PROJECTS:
            for model, requests, tin, tout in models:
                n = int(requests * (1.0 if weekday else 0.35) * rng.uniform(0.7, 1.3))
                if n == 0:
                    continue
                batch = project == BATCH_PROJECT and model.startswith("gpt-4o-mini")
                inp = n * int(tin * rng.uniform(0.8, 1.2))
                r = {"object": "organization.usage.completions.result",
                     "input_tokens": inp, "output_tokens": n * int(tout * rng.uniform(0.8, 1.2)),
                     "input_cached_tokens": 0 if batch else int(inp * rng.uniform(0.1, 0.6)),
                     "input_audio_tokens": 0, "output_audio_tokens": 0,
                     "num_model_requests": n, "project_id": project, "user_id": None, "api_key_id": None,
                     "model": model, "batch": batch}
                if model == AUDIO_MODEL:
                    r["input_audio_tokens"] = n * int(600 * rng.uniform(0.8, 1.2))
                    r["output_audio_tokens"] = n * int(450 * rng.uniform(0.8, 1.2))
                results.append(r)
        out[day] = results
    return out


def _meters(r: dict) -> list[tuple[str, int]]:
    return [("input", r["input_tokens"] - r["input_cached_tokens"]), ("cached_read", r["input_cached_tokens"]),
            ("audio_input", r["input_audio_tokens"]), ("output", r["output_tokens"]),
            ("audio_output", r["output_audio_tokens"])]


def cost_results(usage: dict[dt.date, list[dict]], card: RateCard) -> dict[dt.date, list[dict]]:
    """What OpenAI bills for that usage: one result per (project, '<model>, <meter>')."""
    out = {}
    for day, results in usage.items():
        costs: dict[tuple[str, str], Decimal] = {}
        for r in results:
            price = card.price("openai", r["model"], day)
            for meter, tokens in _meters(r):
                cost = price.cost(meter, tokens, r["batch"]) if tokens else None
                if cost:
                    key = (r["project_id"], f"{r['model']}, {METER_NAMES[meter]}{' (batch)' if r['batch'] else ''}")
                    costs[key] = costs.get(key, Decimal(0)) + cost
        out[day] = [{"object": "organization.costs.result",
                     "amount": {"value": amount.quantize(Decimal("0.000001")), "currency": "usd"},
                     "line_item": line_item, "project_id": project}
                    for (project, line_item), amount in sorted(costs.items())]
    return out


def _pages(by_day: dict[dt.date, list[dict]], per_page: int = 7) -> list[dict]:
    days = sorted(by_day)
    chunks = [days[i:i + per_page] for i in range(0, len(days), per_page)]
    pages = []
    for n, chunk in enumerate(chunks):
        last = n == len(chunks) - 1
        pages.append({"object": "page", "data": [
            {"object": "bucket", "start_time": _ts(d), "end_time": _ts(d + dt.timedelta(days=1)), "results": by_day[d]}
            for d in chunk], "has_more": not last, "next_page": None if last else f"page_{n + 2:04d}"})
    return pages


def _number(value: Decimal, as_string: bool):
    return format(value.normalize(), "f") if as_string else float(value)  # floats: <= 15 digits, exact text


def generate(out: Path, rows: int | None = None, period: str = "2026-10", seed: int = 42, fmt: str = "json",
             costs: bool = True, usage: bool = True, card: RateCard | None = None) -> Path:
    """Write one delivery folder `out` (costs and/or usage pages). `rows` is unused: a month
    has what the projects above use."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    card = card or RateCard.load(MODEL_PRICES)
    used = usage_results(period, seed)
    if usage:
        write_pages(out, "usage", _pages(used))
    if costs:
        pages = _pages(cost_results(used, card))
        for i, page in enumerate(pages, start=1):  # amounts as numbers on odd pages, text on even ones
            for bucket in page["data"]:
                for r in bucket["results"]:
                    r["amount"]["value"] = _number(r["amount"]["value"], as_string=i % 2 == 0)
        write_pages(out, "costs", pages)
    return out
