"""normalizers/memo.py: a Python function over text columns, called once per distinct argument tuple."""
from __future__ import annotations

import duckdb
import pytest

from normalizers import memo


def test_called_once_per_distinct_pair_across_chunks():
    calls = []

    def join(a, b):
        calls.append((a, b))
        return f"{a}|{b}"

    con = duckdb.connect()
    memo.register(con, "joined", join, 2)
    # 200k rows (about 100 DuckDB chunks), 7 x 4 values and NULLs in both columns
    rows = con.execute("""
        SELECT i, a, b, joined(a, b) AS r FROM (
          SELECT i, CASE WHEN i % 11 = 0 THEN NULL ELSE 'a' || (i % 7) END AS a,
                    CASE WHEN i % 13 = 0 THEN NULL ELSE 'b' || (i % 4) END AS b
          FROM range(200000) t(i))""").fetchall()
    assert all(r == f"{a}|{b}" for _, a, b, r in rows)
    distinct = {(a, b) for _, a, b, _ in rows}
    assert sorted(calls, key=str) == sorted(distinct, key=str)  # each pair once, NULLs included


def test_registering_again_replaces_and_survives_an_unread_result():
    con = duckdb.connect()
    memo.register(con, "f", lambda a: "first", 1)
    con.execute("SELECT * FROM range(10)").fetchone()  # a result left unread
    memo.register(con, "f", lambda a: "second", 1)
    assert con.execute("SELECT f('x')").fetchall() == [("second",)]


def test_an_error_result_names_file_row_and_column():
    con = duckdb.connect()
    memo.register(con, "checked", lambda a: memo.error(1, f"value {a} is bad") if a == "x" else a, 1)
    sql = (f"SELECT {memo.error_case('r', ['labels'])} FROM (SELECT __file, __row, checked(v) AS r "
           f"FROM (VALUES ('f.csv', 1, 'ok'), ('f.csv', 2, 'x')) t(__file, __row, v))")
    with pytest.raises(duckdb.Error, match=r"aispend-bad-input\|f\.csv\|2\|labels\|value x is bad"):
        con.execute(sql).fetchall()
    assert con.execute(sql.replace("'x'", "'y'")).fetchall() == [("ok",), ("y",)]
