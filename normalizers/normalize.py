"""Run a source's FOCUS query with DuckDB and write Parquet, one file per billing period.

Nothing is written where readers look: output goes to a staging folder that the caller
publishes (pipelines/storage.py) only after the checks pass."""
from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from . import anthropic, aws_cur, azure_cost, expenses, gcp_billing, invoices, openai
from .errors import BadInputError
from .sources import arrow_csv_batches, is_parquet

SOURCES = {aws_cur.SOURCE: aws_cur, gcp_billing.SOURCE: gcp_billing, azure_cost.SOURCE: azure_cost,
           openai.SOURCE: openai, anthropic.SOURCE: anthropic, invoices.SOURCE: invoices,
           expenses.SOURCE: expenses}

_BAD_INPUT = re.compile(r"aispend-bad-input\|([^|]*)\|(\d+)\|([^|]*)\|(.*)", re.S)


def connect(memory_limit: str = "1500MB") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # Bounded memory: the Parquet writer otherwise buffers far more than it needs (measured).
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET enable_progress_bar = false")  # the CLI turns it on for a terminal
    # Row order carries no meaning (x_SourceRow does): not preserving it lets the Parquet
    # writer stream instead of holding batches back (memory grew with rows otherwise).
    con.execute("SET preserve_insertion_order = false")
    return con


@dataclass
class NormalizeResult:
    source: str
    files: list[Path]
    out_dir: Path
    partitions: dict[str, Path] = field(default_factory=dict)  # billing period -> its folder
    rows: int = 0


def normalize(source: str, inputs: list[Path], out_dir: Path,
              con: duckdb.DuckDBPyConnection | None = None, options: dict | None = None) -> NormalizeResult:
    """Normalize the files of one delivery into `out_dir/billing_period=YYYY-MM/*.parquet`.
    `options`: keyword arguments for the source's FileMapping from the config (see the
    module's CONFIG_OPTIONS, e.g. the expense formats mapped in the config).
    Raises BadInputError naming the file (and row and column) on bad input."""
    module = SOURCES[source]
    inputs = [Path(p) for p in inputs]
    for p in inputs:
        if not p.is_file():
            raise BadInputError(str(p), "no such file")
    mappings = [module.FileMapping(p, **(options or {})) for p in inputs]
    con = con or connect()
    # CSV files are read through Arrow streams (parallel row numbers); a ragged CSV (rows
    # shorter than the header, seen in real CURs) is re-read by DuckDB's null-padding reader.
    try:
        return _normalize(module, mappings, out_dir, con, fast_csv=True)
    except RaggedCsv:
        shutil.rmtree(out_dir, ignore_errors=True)
        return _normalize(module, mappings, out_dir, con, fast_csv=False)


class RaggedCsv(Exception):
    pass


def _normalize(module, mappings, out_dir: Path, con, fast_csv: bool) -> NormalizeResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = [m.path for m in mappings]
    streams: list[str | None] = []
    # One file first: PARTITION_BY buffers every partition's writer and was 4x slower in the
    # benchmark. A delivery almost always holds one billing period; several are split after.
    single = out_dir / "all.parquet.tmp"
    try:
        for i, m in enumerate(mappings):
            streams.append(None)
            if hasattr(m, "arrow_stream"):  # sources read in Python (JSON pages) hand over Arrow
                streams[-1] = f"__src_{i}_{uuid.uuid4().hex[:8]}"
                con.register(streams[-1], m.arrow_stream())
            elif fast_csv and not is_parquet(m.path):
                streams[-1] = f"__src_{i}_{uuid.uuid4().hex[:8]}"
                con.register(streams[-1], arrow_csv_batches(m.path, len(m.header)))
        bind_variables(module, con, mappings)
        query = module.focus_query(mappings, streams)
        con.execute(f"COPY ({query}) TO '{_escape(single)}' (FORMAT parquet, COMPRESSION zstd)")
    except (duckdb.BinderException, duckdb.CatalogException, duckdb.ParserException):
        raise  # our SQL is wrong: a bug, not bad input
    except (duckdb.Error, pa.ArrowInvalid, OSError, EOFError) as exc:
        single.unlink(missing_ok=True)
        if fast_csv and re.search(r"Expected \d+ columns, got \d+", str(exc)):
            raise RaggedCsv() from exc
        raise explain_failure(module, mappings, exc) from exc
    finally:
        for name in streams:
            if name:
                try:
                    con.unregister(name)
                except duckdb.Error:
                    pass  # the aborted query still holds it; the connection is not reused for it
    periods = [p for (p,) in con.execute(
        f"SELECT DISTINCT strftime(BillingPeriodStart, '%Y-%m') FROM read_parquet('{_escape(single)}') ORDER BY 1").fetchall()]
    result = NormalizeResult(module.SOURCE, inputs, out_dir)
    if len(periods) == 1:
        folder = out_dir / f"billing_period={periods[0]}"
        folder.mkdir(parents=True, exist_ok=True)
        single.rename(folder / "part_0.parquet")
    else:  # split by month (e.g. GCP's late rows of last month): one filtered copy each,
        # measured faster than PARTITION_BY (0.77 s vs 1.18 s for 300k wide rows)
        for period in periods:
            folder = out_dir / f"billing_period={period}"
            folder.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY (SELECT * FROM read_parquet('{_escape(single)}') WHERE strftime(BillingPeriodStart, "
                        f"'%Y-%m') = '{period}') TO '{_escape(folder / 'part_0.parquet')}' (FORMAT parquet, "
                        f"COMPRESSION zstd)")
    for period in periods:
        result.partitions[period] = out_dir / f"billing_period={period}"
    single.unlink(missing_ok=True)
    result.rows = con.execute(
        f"SELECT count(*) FROM read_parquet('{_escape(out_dir)}/billing_period=*/*.parquet')").fetchone()[0] if periods else 0
    if result.rows == 0:
        raise BadInputError(inputs[0].name, "the export has a header but no line items")
    return result


def bind_variables(module, con, mappings) -> None:
    """Let a source bind user-controlled values (e.g. config-mapped expense formats) as DuckDB
    variables that its queries read with getvariable(), instead of writing them into SQL text."""
    if hasattr(module, "bind_variables"):
        module.bind_variables(con, mappings)


def _escape(path: Path) -> str:
    return str(path).replace("'", "''")


def explain_failure(module, mappings, exc: Exception) -> BadInputError:
    """Turn a read failure into a BadInputError that names file, row and column (on a fresh
    connection: the failed one may still hold the aborted stream)."""
    con = connect()
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
