"""Reading export files with DuckDB: format detection, headers, and a row-numbered relation.
Everything is read as text first, so that a bad value is reported with its row and column
instead of being guessed at by a type sniffer."""
from __future__ import annotations

import csv
import gzip
import io
import zlib
from pathlib import Path

import pyarrow.parquet as pq

from .errors import BadInputError


def sql_str(value: str) -> str:
    """A SQL string literal (for file paths, which DuckDB table functions take as constants)."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_parquet(path: Path) -> bool:
    return path.name.endswith(".parquet")


def read_header(path: Path) -> list[str]:
    """Column names of a CSV, CSV.gz or Parquet export; a clear error for empty or broken files."""
    if path.stat().st_size == 0:
        raise BadInputError(path.name, "the file is empty (0 bytes); expected a header row")
    if is_parquet(path):
        try:
            return list(pq.read_schema(path).names)
        except Exception as exc:  # pyarrow's errors have no common base worth naming
            raise BadInputError(path.name, f"not a readable Parquet file ({exc})") from exc
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise BadInputError(path.name, f"cannot be read as {'gzip ' if path.name.endswith('.gz') else ''}"
                                       f"CSV ({exc}); the delivery may be truncated") from exc
    if not first.strip():
        raise BadInputError(path.name, "the file is empty; expected a header row")
    return next(csv.reader(io.StringIO(first)))


def raw_relation(path: Path, columns: list[str], renames: dict[int, str]) -> str:
    """SQL for the rows of one file: the source columns at the given positions, renamed to
    canonical names, plus `__row`, the 1-based data row. CSV columns stay text (VARCHAR);
    Parquet keeps its types. CSV columns are bound by position because DuckDB names are
    case-insensitive while CUR headers are not (`user:team` and `user:Team` are two tags)."""
    if is_parquet(path):
        picked = ", ".join(f"{sql_ident(columns[i])} AS {sql_ident(dst)}" for i, dst in renames.items())
        return (f"SELECT file_row_number + 1 AS __row, {picked} "
                f"FROM read_parquet({sql_str(path)}, file_row_number=true)")
    picked = ", ".join(f"c{i} AS {sql_ident(dst)}" for i, dst in renames.items())
    types = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(columns)))
    # null_padding: real CUR files end rows early when trailing optional columns are empty.
    # row_number() OVER () runs as a streaming window, so row numbers cost no materialization.
    return (f"SELECT row_number() OVER () AS __row, {picked} FROM read_csv({sql_str(path)}, "
            f"header=true, auto_detect=false, columns={{{types}}}, delim=',', quote='\"', "
            f"escape='\"', null_padding=true, compression='auto')")
