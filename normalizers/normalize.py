"""Run a source's FOCUS query with DuckDB and write Parquet, one file per billing period.

Nothing is written where readers look: output goes to a staging folder that the caller
publishes (pipelines/storage.py) only after the checks pass."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from . import aws_cur
from .errors import BadInputError

SOURCES = {aws_cur.SOURCE: aws_cur}

_BAD_INPUT = re.compile(r"aispend-bad-input\|([^|]*)\|(\d+)\|([^|]*)\|(.*)", re.S)


def connect(memory_limit: str = "1500MB", threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # Bounded memory: the Parquet writer otherwise buffers far more than it needs (measured).
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = true")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


@dataclass
class NormalizeResult:
    source: str
    files: list[Path]
    out_dir: Path
    partitions: dict[str, Path] = field(default_factory=dict)  # billing period -> parquet file
    rows: int = 0


def normalize(source: str, inputs: list[Path], out_dir: Path,
              con: duckdb.DuckDBPyConnection | None = None) -> NormalizeResult:
    """Normalize the files of one delivery into `out_dir/billing_period=YYYY-MM/*.parquet`.
    Raises BadInputError naming the file (and row and column) on bad input."""
    module = SOURCES[source]
    inputs = [Path(p) for p in inputs]
    for p in inputs:
        if not p.is_file():
            raise BadInputError(str(p), "no such file")
    mappings = [module.FileMapping(p) for p in inputs]
    con = con or connect()
    out_dir.mkdir(parents=True, exist_ok=True)
    query = module.focus_query(mappings)
    # One file first: PARTITION_BY buffers every partition's writer and was 4x slower in the
    # benchmark. A delivery almost always holds one billing period; several are split after.
    single = out_dir / "all.parquet.tmp"
    try:
        con.execute(f"COPY ({query}) TO '{_escape(single)}' (FORMAT parquet, COMPRESSION zstd)")
    except (duckdb.BinderException, duckdb.CatalogException, duckdb.ParserException):
        raise  # our SQL is wrong: a bug, not bad input
    except duckdb.Error as exc:
        single.unlink(missing_ok=True)
        raise explain_failure(con, module, mappings, exc) from exc
    periods = [p for (p,) in con.execute(
        f"SELECT DISTINCT strftime(BillingPeriodStart, '%Y-%m') FROM read_parquet('{_escape(single)}') ORDER BY 1").fetchall()]
    result = NormalizeResult(source, inputs, out_dir)
    for period in periods:
        folder = out_dir / f"billing_period={period}"
        folder.mkdir(parents=True, exist_ok=True)
        if len(periods) == 1:
            single.rename(folder / "part_0.parquet")
        else:
            con.execute(f"COPY (SELECT * FROM read_parquet('{_escape(single)}') WHERE strftime(BillingPeriodStart, "
                        f"'%Y-%m') = '{period}') TO '{_escape(folder / 'part_0.parquet')}' (FORMAT parquet, COMPRESSION zstd)")
        result.partitions[period] = folder
    single.unlink(missing_ok=True)
    result.rows = con.execute(
        f"SELECT count(*) FROM read_parquet('{_escape(out_dir)}/billing_period=*/*.parquet')").fetchone()[0] if periods else 0
    if result.rows == 0:
        raise BadInputError(inputs[0].name, "the export has a header but no line items")
    return result


def _escape(path: Path) -> str:
    return str(path).replace("'", "''")


def explain_failure(con, module, mappings, exc: Exception) -> BadInputError:
    """Turn a DuckDB failure into a BadInputError that names file, row and column."""
    text = str(exc)
    m = _BAD_INPUT.search(text)
    if m:
        return BadInputError(m.group(1), m.group(4).strip(), int(m.group(2)), m.group(3))
    for mapping in mappings:
        found = first_bad_value(con, module, mapping)
        if found:
            return found
    first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    hint = " (the file looks truncated or corrupt; ask for a re-delivery)" if re.search(
        r"gzip|compress|inflate|EOF|truncat", text, re.I) else ""
    names = ", ".join(m.path.name for m in mappings)
    return BadInputError(names, f"{first_line}{hint}")


def first_bad_value(con, module, mapping) -> BadInputError | None:
    """Scan one file for the first value that does not cast to its type."""
    probes = [(c, "DECIMAL(38,12)") for c in module.NUMERIC] + [(c, "TIMESTAMPTZ") for c in module.TIMESTAMPS]
    probes = [(c, t) for c, t in probes if c in mapping.source_names]
    if not probes:
        return None
    cols = ", ".join(
        f"min(CASE WHEN {c} IS NOT NULL AND TRY_CAST({c} AS {t}) IS NULL THEN __row END)" for c, t in probes)
    try:
        rows = con.execute(f"SELECT {cols} FROM ({mapping.relation()})").fetchone()
    except duckdb.Error:
        return None
    found = [(r, c, t) for r, (c, t) in zip(rows, probes) if r is not None]
    if not found:
        return None
    row, col, typ = min(found)
    value = con.execute(f"SELECT {col} FROM ({mapping.relation()}) WHERE __row = {int(row)}").fetchone()[0]
    kind = "a number" if typ.startswith("DECIMAL") else "a date/time"
    return BadInputError(mapping.path.name, f"value {value!r} is not {kind}", row,
                         mapping.source_names[col])
