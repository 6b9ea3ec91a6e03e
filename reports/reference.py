"""The `model_prices` reference table: the token rate card (rate_cards/model_prices.csv) in the
warehouse, so reports read a model's tier from a table like everything else."""
from __future__ import annotations

import pyarrow as pa

from normalizers.token_prices import METERS, RateCard
from pipelines.ai_catalog import create_tables

MONEY = pa.decimal128(38, 12)


def model_prices_table(card: RateCard | None = None) -> pa.Table:
    rows = (card or RateCard.load()).rows
    cols = {
        "provider": pa.array([r.provider for r in rows], pa.string()),
        "model": pa.array([r.model for r in rows], pa.string()),
        "effective_from": pa.array([r.effective_from for r in rows], pa.date32()),
        "tier": pa.array([r.tier for r in rows], pa.string()),
        "currency": pa.array([r.currency for r in rows], pa.string()),
    }
    for m in METERS:  # price per 1M tokens; null: the model has no such meter
        cols[f"{m}_per_1m"] = pa.array([r.prices[m] for r in rows], MONEY)
    return pa.table(cols)


def load_reference(con, config=None) -> None:
    """warehouse.REFERENCE_LOADERS entry."""
    create_tables(con, {"model_prices": model_prices_table()})
