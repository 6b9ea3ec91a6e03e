"""The config section `approved_tools`: the AI tools and contracts the company approved. AI spend
that matches none of them is shadow AI (sql/inventory/ai_inventory.sql).

    approved_tools:
      - vendor: OpenAI            # vendor and/or product (as in rate_cards/ai_vendors.yaml)
        product: ChatGPT          # optional: only this product of the vendor
        owner: jane@example.com   # who answers for the tool
        contract: MSA-2026-014    # contract or purchase_order (at least one)
        budget: 5000              # monthly budget, in `currency` (default USD)
        team: ml-research         # optional: approved for this team only

Names match the classification's x_AiVendor / x_AiProduct case- and punctuation-insensitively;
a product also matches a vendor that has no products (`product: Cursor`)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from .ai_catalog import MONEY, create_tables
from .config_error import ConfigError, amount

SECTION = "approved_tools"


@dataclass(frozen=True)
class ApprovedTool:
    owner: str
    budget: Decimal
    vendor: str | None = None
    product: str | None = None
    contract: str | None = None
    purchase_order: str | None = None
    currency: str = "USD"
    team: str | None = None


_KEYS = {f.name for f in fields(ApprovedTool)}
_TEXT = _KEYS - {"budget"}


def parse(path: Path, raw) -> list[ApprovedTool]:
    """Validate the section: one ConfigError naming the first wrong key or value."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: '{SECTION}' must be a list of tools")
    tools = []
    for i, entry in enumerate(raw):
        where = f"{SECTION}[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: '{where}' must be a mapping with vendor or product, owner, "
                              f"contract or purchase_order, budget")
        for key in entry:
            if key not in _KEYS:
                raise ConfigError(f"{path}: unknown key '{where}.{key}' (expected one of: {', '.join(sorted(_KEYS))})")
        for key in _TEXT & set(entry):
            if not isinstance(entry[key], str) or not entry[key].strip():
                raise ConfigError(f"{path}: '{where}.{key}' must be non-empty text")
        if not (entry.get("vendor") or entry.get("product")):
            raise ConfigError(f"{path}: '{where}' needs a vendor or a product")
        if "owner" not in entry:
            raise ConfigError(f"{path}: '{where}.owner' is required")
        if not (entry.get("contract") or entry.get("purchase_order")):
            raise ConfigError(f"{path}: '{where}' needs a contract or a purchase_order")
        if "budget" not in entry:
            raise ConfigError(f"{path}: '{where}.budget' is required")
        text = {k: v.strip() for k, v in entry.items() if k in _TEXT}
        if "currency" in text:
            text["currency"] = text["currency"].upper()
        tools.append(ApprovedTool(**text, budget=amount(path, f"{where}.budget", entry["budget"])))
        if len(tools[-1].currency) != 3 or not tools[-1].currency.isalpha():
            raise ConfigError(f"{path}: '{where}.currency' must be an ISO 4217 code such as USD")
    return tools




def table(tools: list[ApprovedTool]) -> pa.Table:
    text = ["vendor", "product", "owner", "contract", "purchase_order", "currency", "team"]
    cols = {"entry": pa.array(range(len(tools)), pa.int32())}
    cols |= {k: pa.array([getattr(t, k) for t in tools], pa.string()) for k in text}
    cols["budget"] = pa.array([t.budget for t in tools], MONEY)
    return pa.table(cols)


def load_reference(con, config=None) -> None:
    """warehouse.REFERENCE_LOADERS entry: table approved_tools (empty without a config)."""
    tools = config.sections.get(SECTION, []) if config is not None else []
    create_tables(con, {"approved_tools": table(tools)})
