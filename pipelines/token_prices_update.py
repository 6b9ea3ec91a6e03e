"""`aispend rate-cards update`: import token prices from the installed `genai-prices` package
(pydantic/genai-prices: an open, maintained price table with price history by start date)
into rate_cards/model_prices.csv, offline. Prices are never fetched while the pipeline runs:
the CSV in version control is what prices usage, and this command is how it is refreshed
(upgrade the package, run the command, review the diff).

genai-prices -> our columns: input_mtok -> input, output_mtok -> output, cache_read_mtok ->
cached_read, cache_write_mtok -> cache_write_5m, cache_write_1h_mtok -> cache_write_1h,
input_audio_mtok / output_audio_mtok -> audio_input / audio_output. A price with a
StartDateConstraint becomes a row effective from that date; a price without one applies to all
earlier usage (effective_from 1970-01-01). Prices tiered by prompt length keep their base
price (long-context surcharges are not modelled). The batch discount is read from the
`{'processing': 'batch'}` price variant (1 - batch input / input). Time-of-day prices are skipped.

Rows already in the CSV keep their tier (set by hand); a model new to the file gets a tier
guessed from its name (TIER_RULES), to be reviewed. Rows the package does not know (added by
hand, e.g. a vendor it lacks) are kept."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from normalizers.token_prices import METERS, MODEL_PRICES, ModelPrice, read_csv, write_csv

PROVIDERS = {"openai": "openai", "anthropic": "anthropic"}  # genai-prices id -> our provider
KEYS = {"input_mtok": "input", "output_mtok": "output", "cache_read_mtok": "cached_read",
        "cache_write_mtok": "cache_write_5m", "cache_write_1h_mtok": "cache_write_1h",
        "input_audio_mtok": "audio_input", "output_audio_mtok": "audio_output"}
ALWAYS = dt.date(1970, 1, 1)
# First match wins; a default for new models only, reviewed by hand.
TIER_RULES = [
    ("reasoning", re.compile(r"^o\d|reason|thinking|deep-research")),
    ("small", re.compile(r"mini|nano|haiku|flash|lite|small|instant|gpt-3\.5|babbage|ada|davinci|embedding|luna")),
    ("frontier", re.compile(r"opus|-pro\b|-pro-|gpt-4\.5|gpt-5|gpt-6|^gpt-4$|gpt-4-turbo|gpt-4-32k|mythos|fable|sol\b")),
]


def guess_tier(model: str) -> str:
    return next((tier for tier, rx in TIER_RULES if rx.search(model)), "mid")


def _base(value) -> Decimal | None:
    """A plain price, or the base of a price tiered by prompt length."""
    if value is None:
        return None
    return value if isinstance(value, Decimal) else getattr(value, "base", None)


def _batch_discount(model) -> Decimal:
    for variant in getattr(model, "price_variants", None) or []:
        # The package dates its batch variants from when it recorded them; the discount itself
        # (50% at both vendors) is older, so it applies to every row of the model.
        if variant.when == {"processing": "batch"}:
            batch = _base(getattr(variant.prices, "input_mtok", None))
            regular = model.prices if not isinstance(model.prices, list) else model.prices[-1].prices
            full = _base(getattr(regular, "input_mtok", None))
            if batch is not None and full:
                return (1 - batch / full).quantize(Decimal("0.0001")).normalize()
    return Decimal(0)


def imported_rows() -> list[ModelPrice]:
    """Every dated token price of the chosen providers in the installed genai-prices."""
    from genai_prices.data import providers
    rows = []
    for provider in providers:
        ours = PROVIDERS.get(provider.id)
        if ours is None:
            continue
        for model in provider.models:
            dated = model.prices if isinstance(model.prices, list) else [None]
            discount = _batch_discount(model)
            for entry in dated:
                if entry is None:
                    prices, start = model.prices, ALWAYS
                else:
                    constraint = entry.constraint
                    if constraint is not None and not hasattr(constraint, "start_date"):
                        continue  # time-of-day prices
                    prices, start = entry.prices, getattr(constraint, "start_date", ALWAYS)
                values = {ours_key: _base(getattr(prices, key, None)) for key, ours_key in KEYS.items()}
                if values["input"] is None and values["output"] is None:
                    continue  # not priced by tokens (images by count, audio by the hour)
                if rows and (rows[-1].provider, rows[-1].model, rows[-1].prices) == (ours, model.id, values):
                    continue  # same prices again (a change only in what we do not model, e.g. tiers)
                rows.append(ModelPrice(ours, model.id, start, values, discount, guess_tier(model.id), "USD"))
    return rows


@dataclass
class UpdateReport:
    added: list[ModelPrice] = field(default_factory=list)
    changed: list[tuple[ModelPrice, ModelPrice]] = field(default_factory=list)  # (old, new)
    unchanged: int = 0
    kept: int = 0  # rows only in our file

    def lines(self) -> list[str]:
        out = [f"{len(self.added)} added, {len(self.changed)} changed, {self.unchanged} unchanged, "
               f"{self.kept} kept (not in genai-prices)"]
        for old, new in self.changed:
            diffs = [f"{m} {_show(old.prices.get(m))} -> {_show(new.prices.get(m))}" for m in METERS
                     if old.prices.get(m) != new.prices.get(m)]
            if old.batch_discount != new.batch_discount:
                diffs.append(f"batch_discount {_show(old.batch_discount)} -> {_show(new.batch_discount)}")
            out.append(f"changed {new.provider} {new.model} from {new.effective_from}: {'; '.join(diffs)}")
        for new in self.added:
            out.append(f"added   {new.provider} {new.model} from {new.effective_from} (tier {new.tier})")
        return out


def _show(v) -> str:
    return "-" if v is None else format(v.normalize(), "f")


def update(path: Path = MODEL_PRICES, dry_run: bool = False, rows: list[ModelPrice] | None = None) -> UpdateReport:
    """Merge the package's prices into the CSV at `path` (created if absent)."""
    current = {(r.provider, r.model, r.effective_from): r for r in (read_csv(path) if path.exists() else [])}
    tiers = {(r.provider, r.model): r.tier for r in current.values()}
    report = UpdateReport()
    merged = dict(current)
    seen = set()
    for new in rows if rows is not None else imported_rows():
        key = (new.provider, new.model, new.effective_from)
        seen.add(key)
        new = ModelPrice(new.provider, new.model, new.effective_from, new.prices, new.batch_discount,
                         tiers.get((new.provider, new.model), new.tier), new.currency)
        old = current.get(key)
        if old is None:
            report.added.append(new)
        elif old.prices != new.prices or old.batch_discount != new.batch_discount or old.currency != new.currency:
            report.changed.append((old, new))
        else:
            report.unchanged += 1
            continue
        merged[key] = new
    report.kept = len(set(current) - seen)
    if not dry_run:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_csv(path, list(merged.values()))
    return report
