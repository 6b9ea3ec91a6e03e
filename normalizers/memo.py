"""Python functions of text columns for DuckDB queries, called once per distinct value.

Exports repeat the same label or tag text on every row of a resource (a 1M-row GCP export has
under a hundred distinct label sets); parsing and re-serializing it per row in SQL was the
largest single cost of the GCP mapping (1.3-1.6 of ~10 CPU s per 1M rows). A memo function
sees each chunk's column(s) dictionary-encoded and calls the Python function only for values
it has not seen in this run.

A result starting with ERROR is an error message, not a value: the query turns it into a
BadInputError naming the row (see `error_case`), as Python cannot know the row."""
from __future__ import annotations

from typing import Callable

import duckdb

from .sources import bad_input_sql

ERROR = "\x00"
_MAX_MEMO = 200_000  # distinct argument tuples kept; beyond that the memo starts over


def register(con: duckdb.DuckDBPyConnection, name: str, fn: Callable[..., str | None], arity: int) -> None:
    """Make `name(text, ...)` (VARCHAR -> VARCHAR) call fn(str | None, ...) once per distinct
    argument tuple. Registering again (the same connection reused) replaces the function."""
    memo: dict[tuple, str | None] = {}

    def call(*columns):
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        encoded = [pc.dictionary_encode(c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c)
                   for c in columns]
        values = [e.dictionary.to_pylist() for e in encoded]
        # One integer per row for the tuple of dictionary positions (0 stands for NULL).
        key = np.zeros(len(encoded[0]), dtype=np.int64)
        for e, vs in zip(encoded, values):
            key = key * (len(vs) + 1) + pc.fill_null(e.indices, -1).to_numpy(zero_copy_only=False) + 1
        distinct, inverse = np.unique(key, return_inverse=True)
        if len(memo) > _MAX_MEMO:
            memo.clear()
        results = []
        for k in distinct.tolist():
            args = []
            for vs in reversed(values):
                k, i = divmod(k, len(vs) + 1)
                args.append(vs[i - 1] if i else None)
            args = tuple(reversed(args))
            if args not in memo:
                memo[args] = fn(*args)
            results.append(memo[args])
        return pa.array(results, pa.string()).take(pa.array(inverse.reshape(-1)))

    # DuckDB reads the arity from the Python signature: no *args.
    fixed = {1: lambda a: call(a), 2: lambda a, b: call(a, b), 3: lambda a, b, c: call(a, b, c)}[arity]
    con.complete()  # a result left unread (e.g. after fetchone) would refuse the registration
    try:
        con.remove_function(name)
    except (duckdb.InvalidInputException, duckdb.CatalogException):
        pass  # not registered on this connection yet
    con.create_function(name, fixed, [duckdb.sqltype("VARCHAR")] * arity, duckdb.sqltype("VARCHAR"),
                        type="arrow", null_handling="special", side_effects=False)


def error(argument: int, message: str) -> str:
    """A memo function's result for bad input in its `argument`-th argument (1-based)."""
    return f"{ERROR}{argument}{message}"


def error_case(result: str, columns: list[str]) -> str:
    """SQL: `result`, or the bad-input error it carries, naming columns[argument - 1]."""
    whens = " ".join(f"WHEN starts_with({result}, chr(0) || '{i}') THEN {bad_input_sql(c, f'{result}[3:]')}"
                     for i, c in enumerate(columns, 1))
    return f"CASE {whens} ELSE {result} END"
