"""Run a source's FOCUS query with DuckDB and write Parquet, a folder of files per billing period.

Nothing is written where readers look: output goes to a staging folder that the caller
publishes (pipelines/storage.py) only after the checks pass."""
from __future__ import annotations

import importlib
import re
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .errors import BadInputError
from .sources import arrow_csv_batches, is_parquet, sql_str


class _Sources(Mapping):
    """Source name -> its normalizer module, imported when first asked for: a run of one source
    does not pay for importing the others (nor pyarrow, which a Parquet-only run never needs:
    0.2 s of the 0.5 s an `aispend normalize` call cost before its data)."""
    MODULES = {"aws-cur": "aws_cur", "gcp-billing": "gcp_billing", "azure-cost": "azure_cost", "openai": "openai",
               "anthropic": "anthropic", "invoices": "invoices", "expenses": "expenses"}

    def __getitem__(self, source: str):
        return importlib.import_module(f"{__package__}.{self.MODULES[source]}")

    def __iter__(self):
        return iter(self.MODULES)

    def __len__(self) -> int:
        return len(self.MODULES)


SOURCES = _Sources()

# How FOCUS files are written; writing them is most of a normalize's work (measured per 1M rows):
# - Snappy, the default of DuckDB, pyarrow and Spark: against zstd level 1, the write alone 15%
#   faster (2.9 -> 2.5 s for GCP's 1M FOCUS rows; a whole normalize within noise), analysts'
#   queries over the files 15-20% faster (the views read Parquet), files 43% larger (54 -> 77 MB);
# - row groups of 32k rows instead of DuckDB's 123k: the writer's buffers of 65 columns stay in
#   cache (the write alone 3.4 -> 2.8 CPU s; `aispend normalize` 7-10% faster for Azure and GCP,
#   16k the same, 64k between), the file 1% larger.
FOCUS_PARQUET = "FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 32768"
# A new file every 32 row groups (about 1M rows): a Parquet writer keeps every row group's
# metadata until its file closes, so one file per billing period made peak RSS grow with rows
# (GCP Parquet: 385-395 MB at 1M rows, 436-443 at 10M; rotated, a median of 409 at 10M, 410 at 5M).
FOCUS_FILE_ROW_GROUPS = 32

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
    """Normalize the files of one delivery into `out_dir/billing_period=YYYY-MM/*.parquet` (one
    file per FOCUS_FILE_ROW_GROUPS row groups).
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
    # One output (a folder of rotated files) per pass: PARTITION_BY buffers every partition's
    # writer and was 4x slower in the benchmark. Output holding several billing periods is split
    # after, by a rewrite; so a one-file delivery of a source whose period is one column (GCP's
    # invoice month, which carries late rows of last month) is normalized in two passes instead:
    # the rows of the file's main value of that column, then the others (spilled aside by the
    # CSV reader, or filtered in the Parquet scan), each pass then writing one period (5.8 s ->
    # 4.0 s, GCP 1M).
    key = getattr(module, "PERIOD_KEY", None)
    split = key is not None and len(mappings) == 1 and key in mappings[0].source_names
    spill = out_dir / "spill.arrows"
    late_view = None
    outputs: list[Path] = []
    streams: list[str | None] = []
    try:
        for i, m in enumerate(mappings):
            streams.append(None)
            # (a source with a period column splits its rows of other periods aside, as CSV below)
            stream = (m.arrow_stream(spill) if split else m.arrow_stream()) if hasattr(m, "arrow_stream") else None
            if stream is not None:  # files read in Python (JSON pages, JSON lines) hand over Arrow
                streams[-1] = f"__src_{i}_{uuid.uuid4().hex[:8]}"
                con.register(streams[-1], stream)
            elif fast_csv and not is_parquet(m.path):
                streams[-1] = f"__src_{i}_{uuid.uuid4().hex[:8]}"
                renames = getattr(m, "renames", None)  # None: every column (sources without a rename map)
                position = next((p for p, n in renames.items() if n == key), None) if split else None
                con.register(streams[-1], arrow_csv_batches(m.path, len(m.header), renames,
                                                            None if position is None else (position, spill)))
        prepare_connection(module, con, mappings)
        where, params = None, []
        if split and is_parquet(mappings[0].path):
            values = con.execute(f"SELECT {key}, count(*) FROM ({mappings[0].relation(rows=False)}) "
                                 f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 2").fetchall()
            if len(values) > 1 and values[0][0] is not None:
                where, params = f"{key} = $1", [values[0][0]]
        outputs.append(_copy(con, module.focus_query(mappings, streams, where=where) if where
                             else module.focus_query(mappings, streams), out_dir / "pass_0.tmp", params))
        if where:  # the Parquet rows of other values, copied aside first as they are (a few percent
            # of the rows, streamed): mapping them straight off a filtered scan works on sparse
            # chunks and cost 2-3x as much (0.8-1.0 s vs 0.5 s for 31k of 1M GCP rows)
            late = out_dir / "late.parquet"
            # small row groups: the pass over them runs on every core
            con.execute(f"COPY ({mappings[0].raw_rows_sql()} WHERE {mappings[0].raw_column_sql(key)} "
                        f"IS DISTINCT FROM $1) TO '{_escape(late)}' (FORMAT parquet, ROW_GROUP_SIZE 8192)", params)
            late_view = f"__late_{uuid.uuid4().hex[:8]}"
            con.execute(f"CREATE TEMP VIEW {late_view} AS SELECT * FROM read_parquet('{_escape(late)}')")
            outputs.append(_copy(con, module.focus_query(mappings, [late_view]), out_dir / "pass_1.tmp"))
        elif spill.exists():  # the CSV rows the reader spilled
            streams.append(f"__spill_{uuid.uuid4().hex[:8]}")
            import pyarrow as pa
            con.register(streams[-1], pa.ipc.open_stream(str(spill)))
            outputs.append(_copy(con, module.focus_query(mappings, streams[-1:]), out_dir / "pass_1.tmp"))
    except (duckdb.BinderException, duckdb.CatalogException, duckdb.ParserException):
        raise  # our SQL is wrong: a bug, not bad input
    except (duckdb.Error, _arrow_invalid(), OSError, EOFError) as exc:
        for folder in out_dir.glob("pass_*.tmp"):
            shutil.rmtree(folder)
        if isinstance(exc, duckdb.ConversionException) and " to ENUM(" in str(exc):
            raise  # a mapping table gave a value outside its column's values: a bug, not bad input
        if fast_csv and re.search(r"Expected \d+ columns, got \d+", str(exc)):
            raise RaggedCsv() from exc
        named = next((e for m in mappings for e in getattr(m, "stream_errors", [])), None)
        raise (named or explain_failure(module, mappings, exc)) from exc
    finally:
        for name in streams:
            if name:
                try:
                    con.unregister(name)
                except duckdb.Error:
                    pass  # the aborted query still holds it; the connection is not reused for it
        if late_view:
            try:
                con.execute(f"DROP VIEW IF EXISTS {late_view}")
            except duckdb.Error:
                pass  # as above
        (out_dir / "late.parquet").unlink(missing_ok=True)
        spill.unlink(missing_ok=True)
    month = "strftime(BillingPeriodStart, '%Y-%m')"
    periods_of = {f: _periods(con, f, month) for f in outputs}
    periods = sorted({p for ps in periods_of.values() for p in ps})
    result = NormalizeResult(module.SOURCE, inputs, out_dir)
    for period in periods:
        folder = out_dir / f"billing_period={period}"
        holding = [f for f in outputs if period in periods_of[f]]
        if len(holding) == 1 and periods_of[holding[0]] == [period]:
            holding[0].rename(folder)
        else:  # split by month: one filtered copy each, measured faster than PARTITION_BY
            files = ", ".join(sql_str(f) for h in holding for f in parquet_files(h))
            _copy(con, f"SELECT * FROM read_parquet([{files}]) WHERE {month} = '{period}'", folder)
        result.partitions[period] = folder
    for f in outputs:
        shutil.rmtree(f, ignore_errors=True)
    result.rows = con.execute(
        f"SELECT count(*) FROM read_parquet('{_escape(out_dir)}/billing_period=*/*.parquet')").fetchone()[0] if periods else 0
    if result.rows == 0:
        raise BadInputError(inputs[0].name, "the export has a header but no line items")
    return result


def _arrow_invalid() -> type[Exception]:
    """pyarrow's error for unreadable input (pyarrow imported only when an error is handled)."""
    import pyarrow as pa
    return pa.ArrowInvalid


def parquet_files(path: Path) -> list[Path]:
    """A FOCUS Parquet file, or the files of a folder of them (a pass's output, a partition)."""
    path = Path(path)
    return sorted(path.glob("*.parquet")) if path.is_dir() else [path]


def _periods(con, folder: Path, month: str) -> list[str]:
    """The billing periods a pass's FOCUS files hold: from their min and max (the Parquet
    statistics, no scan) when they fall in one month, the usual case; else from every row."""
    files = ", ".join(sql_str(f) for f in parquet_files(folder))
    if not files:  # no rows: the writer made no file
        return []
    first, last = con.execute(f"SELECT strftime(min(BillingPeriodStart), '%Y-%m'), "
                              f"strftime(max(BillingPeriodStart), '%Y-%m') FROM read_parquet([{files}])").fetchone()
    if first == last:
        return [first] if first else []
    return [p for (p,) in con.execute(f"SELECT DISTINCT {month} FROM read_parquet([{files}]) ORDER BY 1").fetchall()]


def prepare_connection(module, con, mappings) -> None:
    """What a source's queries need on the connection: user-controlled values (e.g. config-mapped
    expense formats) bound as DuckDB variables that its queries read with getvariable() instead
    of being written into SQL text, Python functions (memo.py) and lookup tables."""
    if hasattr(module, "bind_variables"):
        module.bind_variables(con, mappings)
    if hasattr(module, "register_functions"):
        module.register_functions(con, mappings)
    if hasattr(module, "prepare_lookups"):  # small tables its queries join (GCP's Tags)
        module.prepare_lookups(con, mappings)


def _copy(con, query: str, target: Path, params: list | None = None) -> Path:
    """Write the query's rows as FOCUS Parquet files into the new folder `target`."""
    con.execute(f"COPY ({query}) TO '{_escape(target)}' ({FOCUS_PARQUET}, "
                f"ROW_GROUPS_PER_FILE {FOCUS_FILE_ROW_GROUPS}, FILENAME_PATTERN 'part-{{i}}')", params or [])
    return target


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
