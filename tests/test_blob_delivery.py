"""Azure Cost Management exports read from Blob Storage, here Azurite (npm) started by the test on
127.0.0.1: both export layouts (one CSV per run; partitioned runs with manifest.json)."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest
from azure.storage.blob import BlobServiceClient
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.generators.azure_cost import generate
from servers import Azurite, CuttingProxy

ROOT = Path(__file__).resolve().parents[1]
CONTAINER = "cost-exports"


@pytest.fixture(scope="module")
def azurite():
    server = Azurite(ROOT)
    yield server
    server.stop()


@pytest.fixture
def container(azurite, monkeypatch, request):
    name = f"{CONTAINER}-{abs(hash(request.node.name)) % 10**8}"
    monkeypatch.setenv("AISPEND_TEST_BLOB", azurite.connection_string())
    service = BlobServiceClient.from_connection_string(azurite.connection_string())
    client = service.create_container(name)
    return name, client


def config(tmp: Path, container: str, env: str = "AISPEND_TEST_BLOB") -> Path:
    cfg = tmp / "aispend.yaml"
    cfg.write_text(f"data_dir: data\nsources:\n  azure-cost:\n    blob:\n      container: {container}\n"
                   f"      prefix: exports/\n      connection_string_env: {env}\n")
    return cfg


def run(cfg: Path, period: str):
    return CliRunner().invoke(main, ["run", "--config", str(cfg), "--period", period], catch_exceptions=False)


def period_folder(period: str) -> str:
    y, m = map(int, period.split("-"))
    ny, nm = (y + m // 12, m % 12 + 1)
    return f"{y}{m:02d}01-{ny}{nm:02d}01"


def focus(tmp: Path):
    con = duckdb.connect(str(tmp / "data" / "warehouse.duckdb"), read_only=True)
    out = con.execute("SELECT sum(BilledCost), count(*), list(DISTINCT x_SourceFile) FROM focus_costs").fetchone()
    con.close()
    return out


def source_total(csv_path: Path) -> tuple:
    return duckdb.sql(f"SELECT sum(CAST(CostInBillingCurrency AS DECIMAL(38,12))), count(*) "
                      f"FROM read_csv('{csv_path}', all_varchar=true)").fetchall()[0]


def upload_partitioned_run(client, period: str, run_id: str, parts: list[bytes]) -> None:
    """A partitioned export run: gzip CSV parts and the manifest.json listing them."""
    folder = f"exports/mca-costs/{period_folder(period)}/{run_id}"
    names = [f"{folder}/part_0_{i:04d}.csv.gz" for i in range(len(parts))]
    for name, payload in zip(names, parts):
        client.upload_blob(name, payload)
    manifest = {"runInfo": {"runId": run_id}, "blobs": [{"blobName": n} for n in names]}
    client.upload_blob(f"{folder}/manifest.json", json.dumps(manifest).encode())


def test_run_per_csv_export_lands_once_and_month_to_date_replaces(container, tmp_path):
    name, client = container
    first = generate(tmp_path / "run1.csv", 800, "2026-10", seed=1, fmt="ea-actual")
    client.upload_blob(f"exports/ai-costs/{period_folder('2026-10')}/ai-costs_run1.csv", first.read_bytes())
    cfg = config(tmp_path, name)
    result = run(cfg, "2026-10")
    assert result.exit_code == 0, result.output + result.stderr
    assert "2026-10 azure_cost: published" in result.output
    billed, rows, files = focus(tmp_path)
    assert (billed, files) == (source_total(first)[0], ["ai-costs_run1.csv"])
    again = run(cfg, "2026-10")
    assert again.exit_code == 0 and "2026-10 azure_cost: unchanged" in again.output
    # The next export run writes the month to date again: it replaces the month, never adds.
    second = generate(tmp_path / "run2.csv", 1_000, "2026-10", seed=2, fmt="ea-actual")
    client.upload_blob(f"exports/ai-costs/{period_folder('2026-10')}/ai-costs_run2.csv", second.read_bytes())
    assert run(cfg, "2026-10").exit_code == 0
    billed, rows, files = focus(tmp_path)
    assert (billed, files) == (source_total(second)[0], ["ai-costs_run2.csv"])


def test_partitioned_run_with_manifest_and_gzip_parts(container, tmp_path):
    name, client = container
    export = generate(tmp_path / "mca.csv", 1_200, "2026-09", seed=3, fmt="mca-actual")
    lines = export.read_text().splitlines(keepends=True)
    parts = [lines[:1] + lines[1:600], lines[:1] + lines[600:]]
    upload_partitioned_run(client, "2026-09", "run-7f3a", [gzip.compress("".join(part).encode()) for part in parts])
    result = run(config(tmp_path, name), "2026-09")
    assert result.exit_code == 0, result.output + result.stderr
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    billed, files = con.execute("SELECT sum(BilledCost), list(DISTINCT x_SourceFile ORDER BY x_SourceFile) FROM focus_costs").fetchone()
    expected = duckdb.sql(f"SELECT sum(CAST(costInBillingCurrency AS DECIMAL(38,12))) FROM read_csv('{export}', all_varchar=true) "
                          f"WHERE NOT (lower(pricingModel) IN ('reservation', 'savingsplan') AND chargeType = 'Usage') "
                          f"AND chargeType NOT IN ('UnusedReservation', 'UnusedSavingsPlan')").fetchall()[0][0]
    assert files == ["part_0_0000.csv.gz", "part_0_0001.csv.gz"] and billed == expected


def test_connection_dropped_mid_download_then_recovers(container, azurite, tmp_path, monkeypatch):
    name, client = container
    export = generate(tmp_path / "run.csv", 3_000, "2026-10", seed=4, fmt="ea-actual")
    client.upload_blob(f"exports/ai-costs/{period_folder('2026-10')}/ai-costs_run1.csv", export.read_bytes())
    proxy = CuttingProxy(azurite.port)
    try:
        monkeypatch.setenv("AISPEND_TEST_BLOB", azurite.connection_string(proxy.port))
        proxy.cut = "ai-costs_run1.csv"
        cfg = config(tmp_path, name)
        failed = run(cfg, "2026-10")
        assert failed.exit_code != 0 and proxy.cuts >= 1
        assert "azure-cost: unreachable" in failed.stderr and "next run retries" in failed.stderr
        assert not (tmp_path / "data" / "landing" / "azure-cost" / "2026-10").exists()
        proxy.cut = None
        assert run(cfg, "2026-10").exit_code == 0
        assert focus(tmp_path)[0] == source_total(export)[0]
    finally:
        proxy.close()


def test_corrupt_part_is_quarantined_and_the_next_export_run_recovers(container, tmp_path):
    name, client = container
    export = generate(tmp_path / "mca.csv", 1_200, "2026-09", seed=5, fmt="mca-actual")
    lines = export.read_text().splitlines(keepends=True)
    parts = [gzip.compress("".join(lines[:1] + half).encode()) for half in (lines[1:600], lines[600:])]
    cfg = config(tmp_path, name)
    # A good month first: what the warehouse must keep while a bad run is refused.
    good = generate(tmp_path / "good.csv", 300, "2026-09", seed=6, fmt="mca-actual")
    upload_partitioned_run(client, "2026-09", "run-1", [gzip.compress(good.read_bytes())])
    assert run(cfg, "2026-09").exit_code == 0
    before = focus(tmp_path)
    # The next run's second part is cut off mid-stream (a truncated gzip, whole as a blob).
    upload_partitioned_run(client, "2026-09", "run-2", [parts[0], parts[1][: len(parts[1]) // 2]])
    failed = run(cfg, "2026-09")
    assert failed.exit_code != 0
    errors = [line for line in failed.stderr.splitlines() if line.startswith("aispend: error:")]
    assert len(errors) == 1 and "part_0_0001.csv.gz" in errors[0] and "truncated or corrupt" in errors[0]
    quarantine = tmp_path / "data" / "quarantine" / "azure-cost"
    assert (quarantine / "part_0_0001.csv.gz.reason.json").exists()
    assert focus(tmp_path) == before  # the last good month stays, nothing of the bad run in it
    # Azure's next export run writes the month again, whole: it lands and replaces the month.
    upload_partitioned_run(client, "2026-09", "run-3", parts)
    recovered = run(cfg, "2026-09")
    assert recovered.exit_code == 0 and "2026-09 azure_cost: published" in recovered.output
    billed, rows, files = focus(tmp_path)
    assert (billed, files) == (source_total(export)[0], ["part_0_0000.csv.gz", "part_0_0001.csv.gz"])


def test_missing_credentials_are_named(tmp_path, monkeypatch):
    monkeypatch.delenv("AISPEND_NO_SUCH_VAR", raising=False)
    result = run(config(tmp_path, "x", env="AISPEND_NO_SUCH_VAR"), "2026-10")
    assert result.exit_code != 0 and "AISPEND_NO_SUCH_VAR is not set" in result.stderr
