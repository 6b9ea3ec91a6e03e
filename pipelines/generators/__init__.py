"""Realistic synthetic exports for tests, the demo and benchmarks (deterministic per seed)."""


def connect(progress: bool = False):
    """A DuckDB connection for generating: UTC, and DuckDB's own progress bar when asked."""
    import duckdb
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if progress:
        con.execute("SET enable_progress_bar = true")
    return con
