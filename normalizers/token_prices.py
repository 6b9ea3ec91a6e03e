"""Model token prices (rate_cards/model_prices.csv): dated rows, the price effective on a usage
date, and the exact cost of a token count.

One row = the prices of one model from `effective_from` until the model's next row. Prices are
per 1M tokens in `currency`; an empty price means the model has no such meter. `batch_discount`
is the fraction taken off every meter for batch requests (OpenAI Batch API, Anthropic Message
Batches: 0.5). Money is Decimal throughout."""
from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .currencies import ISO_4217
from .errors import BadInputError

ROOT = Path(__file__).resolve().parents[1]
MODEL_PRICES = ROOT / "rate_cards" / "model_prices.csv"

# Token meters, in the column order of the CSV (price per 1M tokens).
METERS = ("input", "output", "cached_read", "cache_write_5m", "cache_write_1h", "audio_input", "audio_output")
COLUMNS = ("provider", "model", "effective_from", *METERS, "batch_discount", "tier", "currency")
TIERS = ("small", "mid", "frontier", "reasoning")
PER = Decimal(1_000_000)
PLACES = Decimal("1e-12")  # DECIMAL(38,12), the FOCUS contract's money type


@dataclass(frozen=True)
class ModelPrice:
    provider: str
    model: str
    effective_from: dt.date
    prices: dict[str, Decimal | None]  # meter -> price per 1M tokens
    batch_discount: Decimal
    tier: str
    currency: str

    def unit_price(self, meter: str, batch: bool = False) -> Decimal | None:
        """Price per 1M tokens of one meter (None: the model has no price for it)."""
        price = self.prices.get(meter)
        if price is None:
            return None
        return price * (1 - self.batch_discount) if batch else price

    def cost(self, meter: str, tokens: int, batch: bool = False) -> Decimal | None:
        price = self.unit_price(meter, batch)
        return None if price is None else (Decimal(tokens) * price / PER).quantize(PLACES)


class RateCard:
    """Prices by (provider, model), each model's rows sorted by effective date."""

    def __init__(self, rows: list[ModelPrice]):
        self.rows = rows
        self._by_model: dict[tuple[str, str], list[ModelPrice]] = {}
        for r in sorted(rows, key=lambda r: r.effective_from):
            self._by_model.setdefault((r.provider, r.model), []).append(r)

    @classmethod
    def load(cls, path: Path = MODEL_PRICES) -> "RateCard":
        return cls(read_csv(Path(path)))

    def resolve_model(self, provider: str, model: str) -> str | None:
        """The rate-card model for a model name as the vendor reports it: the exact name, else
        the longest rate-card name it starts with at a '-' boundary ('gpt-4o-mini-2024-07-18'
        -> 'gpt-4o-mini', 'claude-sonnet-4-5-20250929' -> 'claude-sonnet-4-5')."""
        provider = provider.lower()
        if (provider, model) in self._by_model:
            return model
        best = None
        for p, m in self._by_model:
            if p == provider and model.startswith(m + "-") and (best is None or len(m) > len(best)):
                best = m
        return best

    def price(self, provider: str, model: str, on: dt.date) -> ModelPrice | None:
        """The row in force on `on`: the latest one whose effective_from is not after it."""
        name = self.resolve_model(provider, model)
        if name is None:
            return None
        found = None
        for row in self._by_model[(provider.lower(), name)]:
            if row.effective_from <= on:
                found = row
        return found


def read_csv(path: Path) -> list[ModelPrice]:
    """The rate card, every value checked (a bad line names file, row and column)."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise BadInputError(path.name, f"missing column(s): {', '.join(missing)}", column=missing[0])
        return [_row(path, i, line) for i, line in enumerate(reader, start=1)]


def _row(path: Path, i: int, line: dict) -> ModelPrice:
    def bad(col, msg):
        return BadInputError(path.name, msg, i, col)

    def dec(col, allow_empty=True):
        text = (line.get(col) or "").strip()
        if not text:
            if allow_empty:
                return None
            raise bad(col, "a value is required")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise bad(col, f"value {text!r} is not a number") from None
        if not value.is_finite() or value < 0:
            raise bad(col, f"value {text!r} is not a non-negative number")
        return value

    try:
        effective = dt.date.fromisoformat(line["effective_from"].strip())
    except ValueError:
        raise bad("effective_from", f"value {line['effective_from']!r} is not a date (YYYY-MM-DD)") from None
    tier = line["tier"].strip()
    if tier not in TIERS:
        raise bad("tier", f"unknown tier {tier!r} (expected one of {', '.join(TIERS)})")
    currency = line["currency"].strip()
    if currency not in ISO_4217:
        raise bad("currency", f"unknown currency code {currency!r} (expected an ISO 4217 code such as USD)")
    discount = dec("batch_discount") or Decimal(0)
    if discount > 1:
        raise bad("batch_discount", f"value {discount} is not a fraction between 0 and 1")
    if not line["provider"].strip() or not line["model"].strip():
        raise bad("model" if line["provider"].strip() else "provider", "a value is required")
    return ModelPrice(line["provider"].strip().lower(), line["model"].strip(), effective,
                      {m: dec(m) for m in METERS}, discount, tier, currency)


def write_csv(path: Path, rows: list[ModelPrice]) -> None:
    """Write rows sorted by provider, model and date (stable diffs in version control)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in sorted(rows, key=lambda r: (r.provider, r.model, r.effective_from)):
            w.writerow([r.provider, r.model, r.effective_from.isoformat(),
                        *(_fmt(r.prices.get(m)) for m in METERS), _fmt(r.batch_discount), r.tier, r.currency])
    tmp.replace(path)


def _fmt(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text
