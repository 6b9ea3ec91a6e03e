"""Benchmark: allocation of a generated CUR. For each size: `aispend generate aws-cur`, `aispend
normalize`, the partition published into a data root with the demo's allocation config (team
tags, a percentage split, an account rule, the shared GPU cluster with its usage file), then the
warehouse build timed in a fresh process: once with the models up to cost_lines only (the
reference, measured in the same run) and once whole (with allocation). Prints rows/s and peak RSS.

    python benchmarks/allocate.py --rows 1000000 5000000

Memory should not grow with the input: DuckDB streams, and spills to disk beyond its memory
limit (--memory-limit, default: the warehouse's own, pipelines/warehouse.py MEMORY_LIMIT; DuckDB's
own default is 80% of RAM, which it will fill when the warehouse build sorts 5M wide rows)."""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MEASURE = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from pipelines import warehouse
from pipelines.config import load_config
from pipelines.storage import DataRoot
data, upto, limit = Path(sys.argv[2]), sys.argv[3], sys.argv[4]
# beyond the limit DuckDB spills to disk; 'none': DuckDB's own default, 80% of RAM
if limit != "default":
    warehouse.MEMORY_LIMIT = None if limit == "none" else limit
if upto == "cost_lines":  # the reference: the same build without allocation (nor the inventory)
    from pipelines.allocation import load_allocation
    warehouse.MODELS[:] = warehouse.MODELS[:warehouse.MODELS.index("enrich/cost_lines") + 1]
    warehouse.REFERENCE_LOADERS.remove(load_allocation)
(data / "warehouse.duckdb").unlink(missing_ok=True)
t = time.perf_counter()
warehouse.refresh(DataRoot(data), load_config(data / "aispend.yaml"))
secs = time.perf_counter() - t
import duckdb
con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
rows = con.execute("SELECT count(*) FROM cost_lines").fetchone()[0]
alloc = con.execute("SELECT count(*) FROM allocated_costs").fetchone()[0] if upto == "all" else 0
print(json.dumps({"secs": secs, "rows": rows, "allocations": alloc,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def prepare(work: Path, rows: int) -> Path:
    """A data root holding one published month of `rows` generated CUR line items."""
    bin_dir = Path(sys.executable).parent
    aispend = str(bin_dir / "aispend")
    data = work / f"data-{rows}"
    if (data / "aispend.yaml").exists():
        return data
    cur = work / f"cur-{rows}.csv.gz"
    if not cur.exists():
        subprocess.run([aispend, "generate", "aws-cur", "--rows", str(rows), "--period", "2026-10", "-o", str(cur)],
                       check=True, stdout=subprocess.DEVNULL)
    out = work / f"focus-{rows}"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([aispend, "normalize", "aws-cur", str(cur), "-o", str(out)], check=True, stdout=subprocess.DEVNULL)
    part = data / "focus" / "provider=aws" / "billing_period=2026-10"
    part.mkdir(parents=True)
    for i, f in enumerate(sorted(out.glob("billing_period=2026-10/*.parquet"))):
        shutil.move(f, part / ("data.parquet" if i == 0 else f"data-{i}.parquet"))
    sys.path.insert(0, str(ROOT))
    from pipelines.generators.aws_cur import generate_gpu_usage
    generate_gpu_usage([cur], data / "gpu_usage.csv")
    shutil.copyfile(ROOT / "pipelines" / "demo_config.yaml", data / "aispend.yaml")
    return data


def measure(data: Path, upto: str, limit: str) -> dict:
    out = subprocess.run([sys.executable, "-c", MEASURE, str(ROOT), str(data), upto, limit],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--memory-limit", default="default",
                    help="DuckDB memory_limit for the build [default: the warehouse's own]; 'none': "
                         "DuckDB's default, 80%% of RAM")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="aispend-alloc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"{'CUR rows':>10}{'FOCUS rows':>12}{'allocations':>13}{'build s':>9}{'rows/s':>11}{'RSS MB':>8}"
          f"{'  | up to cost_lines: s':>22}{'rows/s':>11}{'RSS MB':>8}")
    rss = []
    for rows in args.rows:
        data = prepare(work, rows)
        ref = measure(data, "cost_lines", args.memory_limit)
        full = measure(data, "all", args.memory_limit)
        rss.append(full["peak_rss_mb"])
        print(f"{rows:>10,}{full['rows']:>12,}{full['allocations']:>13,}{full['secs']:>9.1f}"
              f"{full['rows'] / full['secs']:>11,.0f}{full['peak_rss_mb']:>8,.0f}"
              f"{ref['secs']:>22.1f}{ref['rows'] / ref['secs']:>11,.0f}{ref['peak_rss_mb']:>8,.0f}")
    print(f"peak RSS with allocation (DuckDB memory_limit {args.memory_limit}): "
          f"{' -> '.join(f'{x:,.0f} MB' for x in rss)}")


if __name__ == "__main__":
    main()
