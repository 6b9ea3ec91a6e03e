"""AWS CUR deliveries read from S3 over HTTP, from moto's S3 server on 127.0.0.1 (a real server,
started here), in both layouts: legacy CUR with its manifest and CUR 2.0 data exports."""
from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import boto3
import duckdb
import pytest
from click.testing import CliRunner
from moto.server import ThreadedMotoServer

from pipelines.cli import main
from pipelines.generators.aws_cur import generate
from focus_rows import published_files
from servers import CuttingProxy, free_port

BUCKET = "billing-exports"


@pytest.fixture
def s3_server(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    yield port, s3
    server.stop()


def next_month(period: str) -> str:
    y, m = map(int, period.split("-"))
    return f"{y + m // 12}-{m % 12 + 1:02d}"


def put_legacy(s3, period: str, file: Path, assembly: str) -> str:
    start, end = period.replace("-", "") + "01", next_month(period).replace("-", "") + "01"
    folder = f"cur/ai-report/{start}-{end}"
    key = f"{folder}/{assembly}/ai-report-00001.csv.gz"
    s3.upload_file(str(file), BUCKET, key)
    manifest = {"assemblyId": assembly, "bucket": BUCKET, "reportKeys": [key],
                "billingPeriod": {"start": f"{start}T000000.000Z", "end": f"{end}T000000.000Z"}}
    s3.put_object(Bucket=BUCKET, Key=f"{folder}/ai-report-Manifest.json", Body=json.dumps(manifest).encode())
    return key


def put_cur2(s3, period: str, file: Path, execution: str) -> str:
    key = f"cur/ai-export/data/BILLING_PERIOD={period}/ai-export-{execution}-00001.snappy.parquet"
    s3.upload_file(str(file), BUCKET, key)
    manifest = {"executionId": execution, "dataFiles": [f"s3://{BUCKET}/{key}"],
                "billingPeriod": {"start": f"{period}-01T00:00:00.000Z", "end": f"{next_month(period)}-01T00:00:00.000Z"}}
    s3.put_object(Bucket=BUCKET, Key=f"cur/ai-export/metadata/BILLING_PERIOD={period}/ai-export-Manifest.json",
                  Body=json.dumps(manifest).encode())
    return key


def config(tmp: Path, port: int) -> Path:
    cfg = tmp / "aispend.yaml"
    cfg.write_text(f"data_dir: data\nsources:\n  aws-cur:\n    s3:\n      bucket: {BUCKET}\n      prefix: cur/\n"
                   f"      endpoint_url: http://127.0.0.1:{port}\n      region: us-east-1\n")
    return cfg


def run(cfg: Path, *periods: str):
    args = ["run", "--config", str(cfg)] + [a for p in periods for a in ("--period", p)]
    return CliRunner().invoke(main, args, catch_exceptions=False)


def tree(folder: Path) -> dict:
    files = published_files(folder) if folder.name == "focus" else sorted(p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in files}


def focus_rows(tmp: Path) -> dict:
    con = duckdb.connect(str(tmp / "data" / "warehouse.duckdb"), read_only=True)
    return dict(con.execute("SELECT billing_period || ' ' || x_SourceFile, count(*) FROM focus_costs GROUP BY 1").fetchall())


def test_both_layouts_land_once_and_a_quiet_night_changes_nothing(s3_server, tmp_path):
    port, s3 = s3_server
    put_legacy(s3, "2026-09", generate(tmp_path / "l.csv.gz", 2_000, "2026-09", seed=1), "a1")
    put_cur2(s3, "2026-10", generate(tmp_path / "c.parquet", 1_500, "2026-10", seed=2, fmt="cur2-parquet"), "e1")
    cfg = config(tmp_path, port)
    first = run(cfg, "2026-09", "2026-10")
    assert first.exit_code == 0, first.output + first.stderr
    assert "2026-09 aws_cur: published" in first.output and "2026-10 aws_cur: published" in first.output
    rows = focus_rows(tmp_path)
    assert set(rows) == {"2026-09 ai-report-00001.csv.gz", "2026-10 ai-export-e1-00001.snappy.parquet"}
    assert rows["2026-09 ai-report-00001.csv.gz"] >= 2_000
    landing = tree(tmp_path / "data" / "landing")
    focus = tree(tmp_path / "data" / "focus")
    assert len(focus) == 4  # two months, each its data file and its record
    second = run(cfg, "2026-09", "2026-10")
    assert second.exit_code == 0
    assert "2026-09 aws_cur: unchanged" in second.output and "2026-10 aws_cur: unchanged" in second.output
    assert tree(tmp_path / "data" / "landing") == landing  # nothing downloaded again
    assert tree(tmp_path / "data" / "focus") == focus


def test_redelivered_month_replaces_never_doubles(s3_server, tmp_path):
    port, s3 = s3_server
    put_legacy(s3, "2026-09", generate(tmp_path / "v1.csv.gz", 2_000, "2026-09", seed=1), "a1")
    cfg = config(tmp_path, port)
    assert run(cfg, "2026-09").exit_code == 0
    v2 = generate(tmp_path / "v2.csv.gz", 1_000, "2026-09", seed=9)
    put_legacy(s3, "2026-09", v2, "a2")  # AWS restates the month: new assembly, new manifest
    assert run(cfg, "2026-09").exit_code == 0
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    billed, rows = con.execute("SELECT sum(BilledCost), count(DISTINCT x_SourceRow) FROM focus_costs").fetchone()
    source = duckdb.sql(f"SELECT sum(CAST(\"lineItem/UnblendedCost\" AS DECIMAL(38,12))), count(*) "
                        f"FROM read_csv('{v2}', all_varchar=true)").fetchall()[0]
    assert (billed, rows) == source  # only the restated delivery, once


def test_connection_dropped_mid_download_lands_nothing_and_next_run_recovers(s3_server, tmp_path):
    port, s3 = s3_server
    key = put_legacy(s3, "2026-09", generate(tmp_path / "l.csv.gz", 3_000, "2026-09", seed=1), "a1")
    proxy = CuttingProxy(port)
    try:
        proxy.cut = key.rsplit("/", 1)[-1]
        cfg = config(tmp_path, proxy.port)
        failed = run(cfg, "2026-09")
        assert failed.exit_code != 0 and proxy.cuts >= 1
        errors = [line for line in failed.stderr.splitlines() if line.startswith("aispend: error:")]
        assert len(errors) == 1 and "unreachable" in errors[0] and "next run retries" in errors[0]
        assert not (tmp_path / "data" / "landing" / "aws-cur" / "2026-09").exists()
        assert not (tmp_path / "data" / "focus").exists()
        proxy.cut = None
        recovered = run(cfg, "2026-09")
        assert recovered.exit_code == 0 and "2026-09 aws_cur: published" in recovered.output
    finally:
        proxy.close()


def test_corrupt_delivery_is_quarantined_and_a_fixed_redelivery_recovers(s3_server, tmp_path):
    port, s3 = s3_server
    good = generate(tmp_path / "good.csv", 500, "2026-09", seed=3)
    payload = gzip.compress(good.read_bytes())
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(payload[: len(payload) // 2])
    put_legacy(s3, "2026-09", broken, "a1")
    cfg = config(tmp_path, port)
    failed = run(cfg, "2026-09")
    assert failed.exit_code != 0
    assert "ai-report-00001.csv.gz" in failed.stderr and "truncated or corrupt" in failed.stderr
    assert (tmp_path / "data" / "quarantine" / "aws-cur" / "ai-report-00001.csv.gz.reason.json").exists()
    fixed = tmp_path / "fixed.csv.gz"
    fixed.write_bytes(payload)
    put_legacy(s3, "2026-09", fixed, "a2")
    recovered = run(cfg, "2026-09")
    assert recovered.exit_code == 0 and "2026-09 aws_cur: published" in recovered.output


def test_unreachable_source_fails_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    cfg = config(tmp_path, free_port())  # nothing listens there
    result = run(cfg, "2026-09")
    assert result.exit_code != 0
    assert "aws-cur: unreachable: s3://billing-exports/cur/" in result.stderr


def test_an_unreachable_source_leaves_the_others_running(tmp_path, monkeypatch):
    from pipelines.generators.azure_cost import generate as generate_azure
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    cfg = config(tmp_path, free_port())  # S3 configured, nothing listening
    generate_azure(tmp_path / "data" / "inbox" / "azure-cost" / "ea.csv", 500, "2026-09", seed=1, fmt="ea-actual")
    result = run(cfg, "2026-09")
    assert result.exit_code != 0 and "aws-cur: unreachable" in result.stderr
    assert "2026-09 azure_cost: published" in result.output
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT list(DISTINCT ProviderName) FROM focus_costs").fetchone()[0] == ["Microsoft"]
