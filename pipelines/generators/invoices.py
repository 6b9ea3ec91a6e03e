"""A month of AI SaaS invoice lines in aispend's plain invoice CSV (normalizers/invoices.py):
code-assistant and chat-assistant seats, an API billed by invoice in euros with VAT, a
mid-month seat true-up, and a credit note. Deterministic for a seed."""
from __future__ import annotations

import csv
import random
from decimal import Decimal
from pathlib import Path

from .openai import month_days

FORMATS = ("csv",)
HEADER = ["vendor", "invoice_id", "invoice_date", "description", "amount", "currency", "service_period_start",
          "service_period_end", "quantity", "unit", "service", "charge_category"]
# vendor, service, description, seats (low, high), price per seat, currency, invoice day
SEAT_PLANS = [
    ("GitHub", "GitHub Copilot Business", "Copilot Business seats", (40, 48), Decimal("19.00"), "USD", 1),
    ("Anysphere", "Cursor Business", "Cursor Business seats", (12, 16), Decimal("40.00"), "USD", 3),
    ("OpenAI", "ChatGPT Team", "ChatGPT Team seats (monthly)", (20, 25), Decimal("30.00"), "USD", 5),
    ("Perplexity AI", "Perplexity Enterprise Pro", "Enterprise Pro seats", (5, 8), Decimal("40.00"), "USD", 7),
]


def generate(out: Path, rows: int | None = None, period: str = "2026-10", seed: int = 42, fmt: str = "csv") -> Path:
    """Write the invoice CSV `out`; `rows` is unused."""
    rng = random.Random(seed)
    days = month_days(period)
    first, last = days[0], days[-1]
    lines = []
    for vendor, service, text, (lo, hi), price, currency, day in SEAT_PLANS:
        seats = rng.randint(lo, hi)
        invoice = f"{vendor[:3].upper()}-{first:%Y%m}-{rng.randint(1000, 9999)}"
        lines.append([vendor, invoice, first.replace(day=day).isoformat(), text, str(seats * price), currency,
                      first.isoformat(), last.isoformat(), str(seats), "Seats", service, ""])
    # A seat true-up mid-month, prorated, on its own invoice.
    extra, start = rng.randint(2, 4), first.replace(day=15)
    prorated = (Decimal(extra) * Decimal("19.00") * Decimal(len(days) - 14) / Decimal(len(days))).quantize(Decimal("0.01"))
    lines.append(["GitHub", f"GIT-{first:%Y%m}-TU", start.isoformat(), f"Copilot Business seats added ({extra}, prorated)",
                  str(prorated), "USD", start.isoformat(), last.isoformat(), str(extra), "Seats",
                  "GitHub Copilot Business", ""])
    # An inference API billed in euros with VAT, and a credit note.
    tokens = rng.randint(80, 160) * 1_000_000
    net = (Decimal(tokens) / 1_000_000 * Decimal("2.00")).quantize(Decimal("0.01"))
    invoice = f"MIS-{first:%Y%m}-{rng.randint(100, 999)}"
    lines.append(["Mistral AI", invoice, last.isoformat(), "La Plateforme API usage (mistral-large)", str(net), "EUR",
                  first.isoformat(), last.isoformat(), str(tokens), "Tokens", "Mistral La Plateforme", "Usage"])
    lines.append(["Mistral AI", invoice, last.isoformat(), "VAT 20%", str((net * Decimal("0.20")).quantize(Decimal("0.01"))),
                  "EUR", "", "", "", "", "Mistral La Plateforme", "Tax"])
    lines.append(["Anysphere", f"ANY-{first:%Y%m}-CN1", first.replace(day=20).isoformat(),
                  "Credit note: 2 seats removed", "-80.00", "USD", "", "", "", "", "Cursor Business", ""])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(lines)
    return out
