"""Realistic synthetic exports for tests, the demo and benchmarks (deterministic per seed)."""


def connect(progress: bool = False):
    """A DuckDB connection for generating: UTC, and DuckDB's own progress bar when asked."""
    import duckdb
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if progress:
        con.execute("SET enable_progress_bar = true")
    return con


def write_pages(out, name: str, pages: list[dict]) -> None:
    """An Admin API export as saved while paging: `<name>_p01.json`, `<name>_p02.json`, ..."""
    import json
    for i, page in enumerate(pages, start=1):
        (out / f"{name}_p{i:02d}.json").write_text(json.dumps(page, indent=1))
