"""Reading export files with DuckDB: format detection, headers, and a row-numbered relation.
Everything is read as text first, so that a bad value is reported with its row and column
instead of being guessed at by a type sniffer."""
from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .currencies import ISO_4217
from .errors import BadInputError

if TYPE_CHECKING:  # imported where a CSV is read, not for a Parquet-only run
    import pyarrow as pa


def sql_str(value: str) -> str:
    """A SQL string literal (for file paths, which DuckDB table functions take as constants)."""
    return "'" + str(value).replace("'", "''") + "'"


def bad_input_sql(column: str, message_sql: str) -> str:
    """A DuckDB error() call, for a row-level check inside a query, whose text normalize.py
    turns back into a BadInputError naming file, row and column."""
    return (f"error('aispend-bad-input|' || __file || '|' || __row || '|' || {sql_str(column)} "
            f"|| '|' || {message_sql})")


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def decimal_sql(text: str, try_cast: bool = False) -> str:
    """SQL: text -> DECIMAL(38,12), rounded as DuckDB's own cast rounds it, but ~8x faster for the
    long fractions of float text (0.6299305555555555, 2.3e-05): DuckDB rounds excess digits slowly
    on 128-bit decimals, so a value that fits DECIMAL(18,12) (64-bit, under 1e6) is rounded there
    and widened. A value that does not (too large, or not a number) takes the plain cast, so it
    fails (or, with try_cast, is NULL) as before. Identical results (tests/test_sql_conversions.py).
    One parse per value: asking a DOUBLE first whether the value is small cost 40% more."""
    cast = "TRY_CAST" if try_cast else "CAST"
    return f"coalesce(CAST(TRY_CAST({text} AS DECIMAL(18,12)) AS DECIMAL(38,12)), {cast}({text} AS DECIMAL(38,12)))"


def currency_sql(value: str, source_column: str, shown: str | None = None) -> str:
    """SQL: the currency code `value` if it is an ISO 4217 code, else a bad-input error naming
    `source_column` and showing the cell (`shown`, default `value`)."""
    shown = shown or value
    codes = ", ".join(sql_str(c) for c in sorted(ISO_4217))
    bad = bad_input_sql(source_column, f"'unknown currency code ' || coalesce('''' || {shown} || '''', 'NULL') || "
                                       f"' (expected an ISO 4217 code such as USD)'")
    return f"CASE WHEN {value} IN ({codes}) THEN {value} ELSE {bad} END"


def float_decimal_sql(x: str) -> str:
    """SQL: a DOUBLE -> DECIMAL(38,12), equal to decimal_sql of its shortest text s (what a CSV
    export of it shows: BigQuery's FLOAT64 money in Parquet), without the text where that is
    provably the same number (the text costs 0.1 s per 1M values, its parse as much again):
    - |x| < 1000 and p = x * 1e12 within 0.35 of an integer: s and x differ by under 0.06e-12
      (half a double's spacing below 1024) and p from x * 1e12 by under 0.07 (half p's spacing
      below 2^50), so s * 1e12 is within 0.48 of round(p) and rounds to it, as the direct cast
      does (DuckDB's DOUBLE -> DECIMAL rounds x * 1e12 to the nearest). Every x whose s has at
      most 12 places is such an x;
    - an integer below 2^53: s is that integer (usage in bytes or seconds);
    Other values (within 0.15e-12 of a tie when rounded to 12 places, larger non-integers) take
    the text. Checked against the text route on a 1M-row export and in tests/test_gcp_billing.py
    (400k random doubles, 100k near ties, integers around 2^53, bounds). The four FLOAT64
    amounts of 1M generated GCP rows (usage mostly whole numbers or long fractions): 0.58 ->
    0.33 s on two cores."""
    p = f"{x} * 1e12"
    return (f"CASE WHEN abs({x}) < 1000 AND abs({p} - round({p})) < 0.35 THEN CAST(CAST({x} AS DECIMAL(18,12)) AS DECIMAL(38,12)) "
            f"WHEN {x} = round({x}) AND abs({x}) < 9007199254740992 THEN CAST(CAST({x} AS BIGINT) AS DECIMAL(38,12)) "
            f"ELSE {decimal_sql(f'CAST({x} AS VARCHAR)')} END")


def is_parquet(path: Path) -> bool:
    return path.name.endswith(".parquet")


def is_json(path: Path) -> bool:
    """Newline-delimited JSON (BigQuery's JSON export), gzip-compressed or not."""
    return path.name.lower().removesuffix(".gz").endswith((".json", ".jsonl", ".ndjson"))


def not_empty(path: Path, expected: str = "a header row") -> None:
    if path.stat().st_size == 0:
        raise BadInputError(path.name, f"the file is empty (0 bytes); expected {expected}")


def read_header(path: Path) -> list[str]:
    """Column names of a CSV, CSV.gz or Parquet export; a clear error for empty or broken files."""
    if is_parquet(path):
        return [name for name, _ in parquet_schema(path)]
    not_empty(path)
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


def parquet_schema(path: Path) -> list[tuple[str, object]]:
    """(name, DuckDB type) of a Parquet file's top-level columns: read by DuckDB, so that a run
    over Parquet files never imports pyarrow (0.1-0.2 s of every CLI call). A clear error for an
    empty or broken file."""
    import duckdb
    not_empty(path)
    try:
        relation = duckdb.connect().read_parquet(str(path))
        return list(zip(relation.columns, relation.types))
    except duckdb.Error as exc:
        raise BadInputError(path.name, f"not a readable Parquet file ({str(exc).splitlines()[0]})") from exc


def arrow_csv_batches(path: Path, ncols: int, columns: Iterable[int] | None = None,
                      split: tuple[int, Path] | None = None, block_size: int = 4 << 20) -> pa.RecordBatchReader:
    """A CSV export as a stream of Arrow batches of text columns cN (the header positions in
    `columns`, default all) plus `__row`, the 1-based data row. Parsing runs on pyarrow's threads
    and gzip is inflated by ISA-L on a thread of its own, so DuckDB gets row numbers without a
    serializing row_number() window (measured 2x). Columns the mapping does not read are
    tokenized but not converted (a quarter of the parse time of a 55-column Azure export).

    `split=(position, spill)`: rows whose value at `position` differs from the most common value
    of the first batch go to the file `spill` instead (see _split_aside)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    names = [f"c{i}" for i in range(ncols)]
    wanted = [names[i] for i in sorted(set(columns))] if columns is not None else names
    if path.name.endswith(".gz"):
        from isal import igzip_threaded  # imported only when needed, as pyarrow.compute below (0.06 s)
        raw = igzip_threaded.open(path, "rb", threads=1)
    else:
        raw = open(path, "rb")
    reader = pcsv.open_csv(
        pa.PythonFile(raw, mode="r"),
        read_options=pcsv.ReadOptions(column_names=names, skip_rows=1, block_size=block_size),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        # Only an empty field is NULL: a tag value "NA" or "null" is data.
        convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in wanted}, include_columns=wanted,
                                            strings_can_be_null=True, null_values=[""]))
    schema = reader.schema.append(pa.field("__row", pa.int64()))

    def batches():
        first = 1
        try:
            for batch in reader:
                rows = pa.arange(first, first + batch.num_rows)  # int64, in C: pa.array(range()) cost 0.08 s per 1M
                first += batch.num_rows
                yield pa.RecordBatch.from_arrays([*batch.columns, rows], schema=schema)
        finally:
            raw.close()

    if split:
        key = f"c{split[0]}"
        return pa.RecordBatchReader.from_batches(schema, _split_aside(batches(), schema, lambda b: b.column(key), split[1]))
    return pa.RecordBatchReader.from_batches(schema, batches())


def _split_aside(batches, schema: pa.Schema, key_of, spill_path: Path):
    """The batches' rows whose key (key_of(batch): an array) is the most common value of the first
    batch; the other rows (e.g. late rows of last month in a GCP export) are written to the Arrow
    IPC stream file `spill_path` instead, to be normalized in a pass of their own: each pass then
    holds one billing period, and no output file has to be split (a rewrite of the whole output)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    primary, spill = None, None
    try:
        for out in batches:
            key = key_of(out)
            if primary is None and out.num_rows:
                counts = pc.value_counts(key).to_pylist()
                primary = max(counts, key=lambda c: c["counts"])["values"]
            if primary is not None:
                same = pc.fill_null(pc.equal(key, primary), False)
                if not pc.all(same).as_py():
                    if spill is None:
                        spill = pa.ipc.new_stream(str(spill_path), schema)
                    spill.write_batch(out.filter(pc.invert(same)))
                    out = out.filter(same)
            yield out
    finally:
        batches.close()
        if spill is not None:
            spill.close()


def arrow_json_batches(path: Path, schema: pa.Schema, split: tuple[str, str, Path] | None = None,
                       errors: list | None = None, block_size: int = 4 << 20) -> pa.RecordBatchReader:
    """A newline-delimited JSON file (gzipped or not) as a stream of Arrow batches of `schema`
    (fields a line leaves out are null, others skipped) plus `file_row_number`, the 0-based line:
    parsed on pyarrow's threads and streamed, so DuckDB numbers no rows itself (its row_number()
    window ran the whole pass on one core). `split=(struct, member, spill)`: as for
    arrow_csv_batches, keyed on a struct's member (a GCP export's invoice.month). A line that is
    not JSON is appended to `errors` as a BadInputError naming it (pyarrow counts rows per block;
    DuckDB, reading the stream, reports only its own failure)."""
    import pyarrow as pa
    import pyarrow.json as pj
    raw = pa.input_stream(str(path))  # gzip inflated by its extension
    try:  # (the first block is parsed here)
        reader = pj.open_json(raw, read_options=pj.ReadOptions(block_size=block_size),
                              parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"))
    except pa.ArrowInvalid as exc:
        raw.close()
        raise _json_line_error(path, exc, 0) or exc
    out_schema = reader.schema.append(pa.field("file_row_number", pa.int64()))

    def batches():
        first = 0
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except pa.ArrowInvalid as exc:
                    named = _json_line_error(path, exc, first)
                    if errors is not None and named:
                        errors.append(named)
                    raise
                rows = pa.arange(first, first + batch.num_rows)
                first += batch.num_rows
                yield pa.RecordBatch.from_arrays([*batch.columns, rows], schema=out_schema)
        finally:
            raw.close()

    if split:
        import pyarrow.compute as pc
        struct, member, spill = split
        key_of = lambda b: pc.struct_field(b.column(struct), member)  # noqa: E731
        return pa.RecordBatchReader.from_batches(out_schema, _split_aside(batches(), out_schema, key_of, spill))
    return pa.RecordBatchReader.from_batches(out_schema, batches())


def _json_line_error(path: Path, exc: Exception, first: int) -> BadInputError | None:
    """pyarrow's JSON error as a BadInputError naming the file's line (pyarrow counts rows from 0
    in each block; `first`: the lines before the block)."""
    found = re.search(r"(.*?)\.? in row (\d+)", str(exc))
    return BadInputError(path.name, f"not a JSON object: {found.group(1)}", first + int(found.group(2)) + 1) if found else None


def raw_relation(path: Path, columns: list[str], renames: dict[int, str], stream: str | None = None,
                 rows: bool = True) -> str:
    """SQL for the rows of one file: the source columns at the given positions, renamed to
    canonical names, plus `__row`, the 1-based data row. CSV columns stay text (VARCHAR);
    Parquet keeps its types. CSV columns are bound by position because DuckDB names are
    case-insensitive while CUR headers are not (`user:team` and `user:Team` are two tags).
    `stream` names a registered arrow_csv_batches() reader to read instead of the file (fast
    path); `rows=False` leaves out __row (for aggregates, which then stay parallel)."""
    if is_parquet(path):
        picked = ", ".join(f"{sql_ident(columns[i])} AS {sql_ident(dst)}" for i, dst in renames.items())
        return (f"SELECT file_row_number + 1 AS __row, {picked} "
                f"FROM read_parquet({sql_str(path)}, file_row_number=true)")
    picked = ", ".join(f"c{i} AS {sql_ident(dst)}" for i, dst in renames.items())
    if stream:
        return f"SELECT __row, {picked} FROM {sql_ident(stream)}"
    types = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(columns)))
    # null_padding: real CUR files end rows early when trailing optional columns are empty.
    # row_number() OVER () runs as a streaming window, so row numbers cost no materialization.
    row = "row_number() OVER ()" if rows else "NULL::BIGINT"
    return (f"SELECT {row} AS __row, {picked} FROM read_csv({sql_str(path)}, "
            f"header=true, auto_detect=false, columns={{{types}}}, delim=',', quote='\"', "
            f"escape='\"', null_padding=true, compression='auto')")


def summed_totals_sql(parts: list[str]) -> str:
    """Per-file (billing_period, currency, total) queries summed into one delivery's totals."""
    union = " UNION ALL ".join(f"({q})" for q in parts)
    return f"SELECT billing_period, currency, sum(total) AS total FROM ({union}) GROUP BY ALL"
