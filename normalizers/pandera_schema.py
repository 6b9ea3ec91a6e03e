"""The FOCUS contract as a pandera (Polars) schema: types, nullability and allowed values.

Used by the Dagster schema check next to the DuckDB checks: an independent second reading of
the same contract, so a bug in one is caught by the other."""
from __future__ import annotations

from pathlib import Path

import pandera.polars as pa
import polars as pl
import pyarrow.parquet as pq

from .focus_contract import ALL_COLUMNS, DATETIME, DECIMAL, Column
from .normalize import parquet_files

_TYPES = {DECIMAL: pl.Decimal(38, 12), DATETIME: pl.Datetime("us", "UTC"), "BIGINT": pl.Int64}


def _column(col: Column) -> pa.Column:
    checks = [pa.Check.isin(list(col.allowed_values))] if col.allowed_values else []
    return pa.Column(_TYPES.get(col.sql_type, pl.String), nullable=col.nullable, checks=checks)


def focus_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema({c.name: _column(c) for c in ALL_COLUMNS}, strict=True, ordered=True)


def validate_parquet(path: Path, batch_rows: int = 250_000) -> int:
    """Validate a FOCUS Parquet file, or a partition's folder of them, batch by batch (bounded
    memory); returns rows checked. Raises pandera's SchemaError naming the column and the
    failing values."""
    schema = focus_schema()
    rows = 0
    for file in parquet_files(path):
        # Without Arrow extension types, JSON columns are read as their text, which pandera checks.
        parquet = pq.ParquetFile(file, arrow_extensions_enabled=False)
        for batch in parquet.iter_batches(batch_size=batch_rows):
            frame = pl.from_arrow(batch)
            schema.validate(frame, lazy=False)
            rows += frame.height
    return rows
