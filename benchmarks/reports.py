"""Benchmark: rendering every demo team's report and the finance overview (queries, charts,
templates, CSS inlining, the .html and .eml files; a dry run, nothing mailed). Target: under 10 s
on the 2-core machine.

    python benchmarks/reports.py [--data DIR]   # DIR: an `aispend demo` folder (made if missing)

Prints the time of each of three runs in this process (the first pays matplotlib's and Jinja's
start-up) and the time per report."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/aispend-bench-reports"))
    args = ap.parse_args()
    import duckdb
    from pipelines.config import load_config
    from pipelines.demo import run_demo
    if not (args.data / "warehouse.duckdb").exists():
        print(f"making the demo in {args.data} ...", flush=True)
        run_demo(args.data)
    with duckdb.connect(str(args.data / "warehouse.duckdb"), read_only=True) as con:
        (period,) = con.execute("SELECT max(billing_period) FROM showback").fetchone()
    started = time.perf_counter()
    from reports.run import make_reports  # imports (matplotlib, jinja2) are part of a cold run
    cfg = load_config(args.data / "aispend.yaml", args.data)
    times = []
    for i in range(3):
        t0 = started if i == 0 else time.perf_counter()
        run = make_reports(cfg, period)
        times.append(time.perf_counter() - t0)
    n = len(run.written)
    print(f"{n} reports ({n - 1} teams + finance overview), {period}, dry run")
    for i, t in enumerate(times):
        print(f"  run {i + 1}{' (cold, with imports)' if i == 0 else ''}: {t:.2f} s ({t / n * 1000:.0f} ms/report)")
    print(f"target < 10 s: {'met' if max(times) < 10 else 'MISSED'}")


if __name__ == "__main__":
    main()
