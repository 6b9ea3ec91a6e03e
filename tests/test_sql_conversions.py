"""The SQL conversions that take a shortcut for speed give exactly what the plain cast gives:
decimal_sql (export text -> DECIMAL(38,12), through a 64-bit decimal where a value fits) and
focus_contract.utc (TIMESTAMP -> TIMESTAMPTZ through the epoch instead of ICU)."""
import duckdb
import pytest

from normalizers.focus_contract import utc
from normalizers.normalize import connect
from normalizers.sources import decimal_sql

EDGES = ["999999.9999999999995", "999999.9999999999994", "-999999.9999999999995", "99999.99999999999995",
         "1e5", "1E6", "1e-20", "-0.0000000000005", "0.0000000000005", "0.0000000000015", "0.0000000000025",
         " 12.5 ", "+1.5", ".5", "5.", "-0", "12345678901234567890.5", "1e20", "123456.1234567890125",
         "0.6299305555555555", "2.3e-05", "-2.3E-05", "1.5e+3", "24.251192640000000000000000", None]


@pytest.fixture(scope="module")
def texts():
    con = duckdb.connect()
    con.execute("SELECT setseed(0.17)")  # the same texts on every run
    # every magnitude from 1e-14 to 1e20, printed as float text, with fixed places, and in e-notation
    con.execute("CREATE TABLE t AS SELECT CASE i % 3 WHEN 0 THEN CAST(v AS VARCHAR) WHEN 1 THEN printf('%.15f', v) "
                "ELSE printf('%e', v) END AS x FROM (SELECT i, (random() - 0.5) * pow(10, (i % 35) - 14) AS v "
                "FROM range(150000) r(i)) UNION ALL SELECT unnest($1)", [EDGES])
    return con


@pytest.mark.parametrize("try_cast", [False, True])
def test_decimal_text_converts_as_duckdbs_own_cast(texts, try_cast):
    differ = texts.execute(f"SELECT count(*), any_value(x) FROM t WHERE ({decimal_sql('x', try_cast)}) "
                           f"IS DISTINCT FROM TRY_CAST(x AS DECIMAL(38,12))").fetchone()
    assert differ[0] == 0, f"first text converted differently: {differ[1]!r}"
    # the shortcut is taken for most values (not only the plain cast)
    fits = texts.execute("SELECT count(*) FROM t WHERE TRY_CAST(x AS DECIMAL(18,12)) IS NOT NULL").fetchone()[0]
    assert fits > 75_000


def test_text_that_is_no_number_fails_or_is_null():
    con = duckdb.connect()
    with pytest.raises(duckdb.ConversionException):
        con.execute(f"SELECT {decimal_sql('$1')}", ["12,5"]).fetchall()
    assert con.execute(f"SELECT {decimal_sql('$1', try_cast=True)}", ["12,5"]).fetchone()[0] is None


def test_utc_equals_the_cast_in_the_normalizers_session():
    con = connect()  # the session normalizers run in (UTC)
    con.execute("SELECT setseed(0.23)")
    # microsecond timestamps from 1901 to 2100, DST dates of other zones, month and day edges
    con.execute("CREATE TABLE t AS SELECT TIMESTAMP '1901-01-01' + to_microseconds(CAST(random() * 6.3e15 AS BIGINT)) AS ts "
                "FROM range(100000) UNION ALL SELECT unnest([TIMESTAMP '1970-01-01', TIMESTAMP '1969-12-31 23:59:59.999999', "
                "TIMESTAMP '2026-03-29 02:30:00', TIMESTAMP '2026-10-25 02:30:00', TIMESTAMP '2024-02-29 00:00:00', NULL])")
    differ = con.execute(f"SELECT count(*), any_value(ts) FROM t WHERE {utc('ts')} IS DISTINCT FROM CAST(ts AS TIMESTAMPTZ)").fetchone()
    assert differ[0] == 0, f"first timestamp converted differently: {differ[1]!r}"
    assert con.execute(f"SELECT typeof({utc('ts')}) FROM t LIMIT 1").fetchone()[0] == "TIMESTAMP WITH TIME ZONE"
