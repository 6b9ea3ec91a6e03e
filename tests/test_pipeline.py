"""The nightly job end to end through `aispend run` (the real Dagster job, in process): idempotent
re-runs, re-deliveries that replace, and bad input that is quarantined while the last good data
stays published."""
from __future__ import annotations

import gzip
import hashlib
import shutil
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from click.testing import CliRunner

from normalizers.focus_contract import ALL_COLUMNS
from normalizers.normalize import SOURCES
from pipelines.cli import main
from pipelines import warehouse
from pipelines.definitions import (build_definitions, nightly_periods, nightly_schedule,
                                  warehouse_after_failed_night)
from pipelines.generators.aws_cur import generate
from focus_rows import published_files

PERIOD = "2026-10"


def run(data: Path, *periods: str):
    args = ["run", "--data", str(data)] + [a for p in periods for a in ("--period", p)]
    return CliRunner().invoke(main, args, catch_exceptions=False)


def snapshot(data: Path) -> dict:
    """Every warehouse table's content and every published file's bytes."""
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    tables = {name: con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
              for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    con.close()
    files = {str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in published_files(data / "focus")}
    return {"tables": tables, "files": files}


@pytest.fixture
def data(tmp_path):
    inbox = tmp_path / "inbox" / "aws-cur"
    generate(inbox / "cur-2026-10.csv.gz", 3_000, PERIOD, seed=1)
    return tmp_path


def test_run_publishes_and_rerun_changes_nothing(data):
    first = run(data, PERIOD)
    assert first.exit_code == 0, first.output
    assert f"{PERIOD} aws_cur: published, " in first.output
    before = snapshot(data)
    assert before["tables"]["focus_costs"] and before["tables"]["focus_partitions"]
    assert [Path(f).name for f in before["files"]][-1] == "_published.json" and len(before["files"]) == 2
    second = run(data, PERIOD)
    assert second.exit_code == 0
    assert f"{PERIOD} aws_cur: unchanged" in second.output  # nothing re-processed
    assert snapshot(data) == before


def test_redelivered_month_replaces_never_doubles(data):
    assert run(data, PERIOD).exit_code == 0
    generate(data / "inbox" / "aws-cur" / "cur-2026-10-v2.csv.gz", 2_000, PERIOD, seed=2)
    assert run(data, PERIOD).exit_code == 0
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    rows, files = con.execute("SELECT count(*), count(DISTINCT x_SourceFile) FROM focus_costs").fetchone()
    assert files == 1 and con.execute("SELECT DISTINCT x_SourceFile FROM focus_costs").fetchone()[0] == "cur-2026-10-v2.csv.gz"
    assert rows >= 2_000 and rows < 3_000


def test_a_month_in_several_files_is_published_whole_and_conserves(data, monkeypatch, tmp_path_factory):
    """FOCUS files rotate every FOCUS_FILE_ROW_GROUPS row groups (bounded writer memory). Small
    row groups here, so the fixture's month is written as several files: the checks read all of
    them, the partition publishes all of them, and the warehouse holds the rows a one-file
    normalize gives, each once."""
    from normalizers import normalize
    monkeypatch.setattr(normalize, "FOCUS_PARQUET", "FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 2048")
    monkeypatch.setattr(normalize, "FOCUS_FILE_ROW_GROUPS", 1)
    result = run(data, PERIOD)
    assert result.exit_code == 0 and f"{PERIOD} aws_cur: published" in result.output, result.output
    files = [p for p in published_files(data / "focus") if p.suffix == ".parquet"]
    assert len(files) >= 2
    monkeypatch.undo()
    export = data / "inbox" / "aws-cur" / "cur-2026-10.csv.gz"
    one = normalize.normalize("aws-cur", [export], tmp_path_factory.mktemp("one"))
    assert len(list(one.partitions[PERIOD].glob("*.parquet"))) == 1
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    columns = ", ".join(f'"{c.name}"::VARCHAR' for c in ALL_COLUMNS)
    published = con.execute(f"SELECT {columns} FROM focus_costs ORDER BY ALL").fetchall()
    expected = duckdb.execute(f"SELECT {columns} FROM '{one.partitions[PERIOD]}/*.parquet' ORDER BY ALL").fetchall()
    assert len(published) > 3000 and published == expected
    assert con.execute("SELECT rows FROM focus_partitions").fetchone()[0] == len(published)
    source = SOURCES["aws-cur"]
    totals = duckdb.connect().execute(source.delivery_totals_sql([source.FileMapping(export)])).fetchall()
    billed = con.execute("SELECT sum(BilledCost) FROM focus_costs").fetchone()[0]
    assert [(p, c, Decimal(t)) for p, c, t in totals] == [(PERIOD, "USD", billed)]


def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, str]]:
    good = generate(tmp / "good.csv", 200, PERIOD, seed=3)
    lines = good.read_text().splitlines()
    header = lines[0].split(",")
    cost = header.index("lineItem/UnblendedCost")
    kind = header.index("lineItem/LineItemType")

    def with_cell(row: int, col: int, value: str) -> str:
        import csv
        import io
        rows = list(csv.reader(io.StringIO(good.read_text())))
        rows[row][col] = value
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        return buf.getvalue()

    out = {}
    (tmp / "missing.csv").write_text("\n".join(",".join(c for i, c in enumerate(l.split(",")) if i != cost)
                                               for l in lines[:5]) + "\n")
    out["missing column"] = (tmp / "missing.csv", "missing required CUR column(s): line_item_unblended_cost")
    (tmp / "nonnumeric.csv").write_text(with_cell(17, cost, "1.2.3"))
    out["non-numeric cost"] = (tmp / "nonnumeric.csv", "row 17, column lineItem/UnblendedCost: value '1.2.3' is not a number")
    payload = gzip.compress(good.read_bytes())
    (tmp / "truncated.csv.gz").write_bytes(payload[: len(payload) // 2])
    out["truncated gzip"] = (tmp / "truncated.csv.gz", "truncated.csv.gz")
    (tmp / "empty.csv").write_bytes(b"")
    out["empty file"] = (tmp / "empty.csv", "the file is empty")
    (tmp / "unknown.csv").write_text(with_cell(9, kind, "MysteryCharge"))
    out["unknown line item type"] = (tmp / "unknown.csv", "row 9, column lineItem/LineItemType: unknown line item type 'MysteryCharge'")
    return out


@pytest.mark.parametrize("case", ["missing column", "non-numeric cost", "truncated gzip", "empty file",
                                  "unknown line item type"])
def test_bad_input_is_quarantined_and_warehouse_unchanged(data, tmp_path_factory, case):
    assert run(data, PERIOD).exit_code == 0
    before = snapshot(data)
    bad, expected = _bad_inputs(tmp_path_factory.mktemp("bad"))[case]
    shutil.copy(bad, data / "inbox" / "aws-cur" / ("zz-" + bad.name))
    result = run(data, PERIOD)
    assert result.exit_code != 0
    errors = [l for l in result.stderr.splitlines() if l.startswith("aispend: error:")]
    assert len(errors) == 1, result.stderr
    assert "zz-" + bad.name in errors[0] and expected in errors[0]
    quarantined = data / "quarantine" / "aws-cur" / ("zz-" + bad.name)
    assert quarantined.exists() and quarantined.with_name(quarantined.name + ".reason.json").exists()
    assert snapshot(data) == before
    # The next night skips the quarantined file and the last good data stays.
    again = run(data, PERIOD)
    assert again.exit_code == 0 and snapshot(data) == before


def test_dagster_job_materializes_assets_and_checks(data):
    defs = build_definitions(None, str(data))
    result = defs.resolve_job_def("nightly").execute_in_process(
        partition_key=f"{PERIOD}-01", instance=dg.DagsterInstance.ephemeral())
    assert result.success
    checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
              for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
              and e.asset_check_evaluation_data.asset_key.path[-1] == "aws_cur_focus"}
    assert checks == {"focus_schema": True, "conservation": True}
    materialized = {e.asset_key.path[-1] for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
    sources = [s.replace("-", "_") for s in SOURCES]  # every registered source has its assets
    assert materialized == {f"{s}_{stage}" for s in sources for stage in ("landing", "focus")} | {"warehouse_views"}


def _two_sources(data: Path) -> None:
    """An Azure export beside the fixture's CUR: two sources that publish in the same run."""
    from pipelines.generators.azure_cost import generate as generate_azure
    generate_azure(data / "inbox" / "azure-cost" / "ea.csv", 500, PERIOD, seed=1, fmt="ea-actual")


def _counting_builds(monkeypatch) -> list:
    """Counts warehouse builds (the real build still runs)."""
    builds, real = [], warehouse.refresh
    monkeypatch.setattr(warehouse, "refresh", lambda *a, **k: builds.append(1) or real(*a, **k))
    return builds


def test_a_night_builds_the_warehouse_once_however_many_sources_publish(data, monkeypatch):
    _two_sources(data)
    builds = _counting_builds(monkeypatch)
    result = run(data, PERIOD)
    assert result.exit_code == 0, result.output
    assert f"{PERIOD} aws_cur: published" in result.output and f"{PERIOD} azure_cost: published" in result.output
    assert len(builds) == 1  # was one per published source plus one
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT list(DISTINCT ProviderName ORDER BY ProviderName) FROM focus_costs").fetchone()[0] == [
        "AWS", "Microsoft"]


def test_a_failed_source_skips_the_build_and_the_sensor_rebuilds_from_what_was_published(data, monkeypatch):
    """The scheduled path (the daemon's sensor, evaluated here on the real failed run): Dagster
    skips warehouse_views when a source fails, so the one that published is not yet visible."""
    _two_sources(data)
    (data / "inbox" / "aws-cur" / "zz-broken.csv.gz").write_bytes(b"\x1f\x8b\x08 truncated")
    builds = _counting_builds(monkeypatch)
    defs = build_definitions(None, str(data))
    instance = dg.DagsterInstance.ephemeral()
    night = defs.resolve_job_def("nightly").execute_in_process(
        partition_key=f"{PERIOD}-01", instance=instance, raise_on_error=False)
    assert not night.success and builds == []
    assert not (data / "warehouse.duckdb").exists()
    context = dg.build_run_status_sensor_context(
        sensor_name=warehouse_after_failed_night.name, dagster_event=night.get_run_failure_event(),
        dagster_instance=instance, dagster_run=night.dagster_run).for_run_failure()
    requests = list(warehouse_after_failed_night(context))
    assert [r.partition_key for r in requests] == [f"{PERIOD}-01"]
    rebuilt = defs.resolve_job_def(warehouse_after_failed_night.job_name).execute_in_process(
        partition_key=requests[0].partition_key, instance=instance)
    assert rebuilt.success and len(builds) == 1
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT list(DISTINCT ProviderName) FROM focus_costs").fetchone()[0] == ["Microsoft"]


def test_run_rebuilds_the_warehouse_once_when_a_source_failed(data, monkeypatch):
    _two_sources(data)
    (data / "inbox" / "aws-cur" / "zz-broken.csv.gz").write_bytes(b"\x1f\x8b\x08 truncated")
    builds = _counting_builds(monkeypatch)
    result = run(data, PERIOD)
    assert result.exit_code != 0 and "zz-broken.csv.gz" in result.stderr
    assert f"{PERIOD} azure_cost: published" in result.output and len(builds) == 1
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM focus_costs WHERE ProviderName = 'Microsoft'").fetchone()[0] > 0


def test_key_value_columns_are_json_text_that_any_reader_opens(data):
    """Tags and the other KeyValueFormat columns are stored as UTF-8 JSON text: Polars (and so the
    official validator) read Parquet's JSON annotation as Binary. The warehouse types them JSON."""
    import json
    import polars as pl
    assert run(data, PERIOD).exit_code == 0
    part = next((data / "focus").glob(f"*/billing_period={PERIOD}/*.parquet"))
    frame = pl.read_parquet(part, columns=["Tags", "SkuPriceDetails", "x_Credits"])
    assert all(frame[c].dtype == pl.String for c in frame.columns)
    tags = frame["Tags"].drop_nulls()
    assert len(tags) and all(isinstance(json.loads(t), dict) for t in tags)
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'focus_costs'").fetchall())
    assert {c: types[c] for c in ("Tags", "SkuPriceDetails", "x_Credits")} == dict.fromkeys(
        ("Tags", "SkuPriceDetails", "x_Credits"), "JSON")


def test_nightly_schedule_reprocesses_current_and_previous_month():
    import datetime as dt
    assert nightly_periods(dt.date(2026, 1, 3)) == ["2025-12", "2026-01"]
    ctx = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 24, 2, 30, tzinfo=dt.timezone.utc))
    keys = [r.partition_key for r in nightly_schedule(ctx)]
    assert keys == ["2026-10-01", "2026-11-01"]


def test_config_errors_name_the_key(tmp_path):
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text("data_dir: d\nsorces: {}\n")
    result = CliRunner().invoke(main, ["run", "--config", str(cfg)])
    assert result.exit_code != 0 and "unknown key 'sorces'" in result.stderr


def test_normalize_cli_one_line_error(tmp_path):
    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"")
    result = CliRunner().invoke(main, ["normalize", "aws-cur", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.strip() == "aispend: error: empty.csv: the file is empty (0 bytes); expected a header row"
    assert not list((tmp_path / "out").rglob("*.parquet"))


def test_dagster_workspace_loads():
    """`dagster dev -w workspace.yaml` loads this code location (checked without a server)."""
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[1]
    dagster = Path(sys.executable).with_name("dagster")
    proc = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"], cwd=root,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "All code locations passed validation" in proc.stderr + proc.stdout


def test_remote_config_errors_name_the_key(tmp_path):
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text("sources:\n  aws-cur:\n    s3:\n      bucket: b\n      regoin: eu-west-1\n")
    result = CliRunner().invoke(main, ["run", "--config", str(cfg)])
    assert result.exit_code != 0 and "unknown key 'sources.aws-cur.s3.regoin'" in result.stderr
    cfg.write_text("sources:\n  gcp-billing:\n    bigquery:\n      project: p\n      dataset: d\n")
    result = CliRunner().invoke(main, ["run", "--config", str(cfg)])
    assert result.exit_code != 0 and "'sources.gcp-billing.bigquery.table' is required" in result.stderr
    cfg.write_text("sources:\n  gcp-billing:\n    bigquery:\n      project: p\n      dataset: d\n      table: t\n"
                   "      api_endpoint: http://127.0.0.1:9050\n")
    result = CliRunner().invoke(main, ["run", "--config", str(cfg)])
    assert result.exit_code != 0 and "'sources.gcp-billing.bigquery.storage_api_endpoint'" in result.stderr
