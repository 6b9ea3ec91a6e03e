"""The GCP billing export read from BigQuery, here the PyPI emulator `bqemulator` started by the
test on 127.0.0.1 (a real server speaking BigQuery's REST API and, over gRPC, its Storage Read
API), with the export's nested schema."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from google.cloud import bigquery

from pipelines.remote.bigquery import BigQueryBillingExport, sync_bigquery
from pipelines.remote import SourceUnreachable
from pipelines.storage import DataRoot
from servers import BigQueryEmulator, CuttingTcpProxy, free_port

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "billing-proj"
S = bigquery.SchemaField
KV = [S("key", "STRING"), S("value", "STRING")]
SCHEMA = [
    S("billing_account_id", "STRING"),
    S("service", "RECORD", fields=[S("id", "STRING"), S("description", "STRING")]),
    S("sku", "RECORD", fields=[S("id", "STRING"), S("description", "STRING")]),
    S("usage_start_time", "TIMESTAMP"), S("usage_end_time", "TIMESTAMP"),
    S("project", "RECORD", fields=[S("id", "STRING"), S("name", "STRING"), S("labels", "RECORD", mode="REPEATED", fields=KV)]),
    S("labels", "RECORD", mode="REPEATED", fields=KV),
    S("system_labels", "RECORD", mode="REPEATED", fields=KV),
    S("location", "RECORD", fields=[S("location", "STRING"), S("country", "STRING"), S("region", "STRING"), S("zone", "STRING")]),
    S("export_time", "TIMESTAMP"), S("cost", "FLOAT"), S("currency", "STRING"), S("currency_conversion_rate", "FLOAT"),
    S("usage", "RECORD", fields=[S("amount", "FLOAT"), S("unit", "STRING"), S("amount_in_pricing_units", "FLOAT"),
                                 S("pricing_unit", "STRING")]),
    S("credits", "RECORD", mode="REPEATED", fields=[S("name", "STRING"), S("amount", "FLOAT"), S("full_name", "STRING"),
                                                     S("id", "STRING"), S("type", "STRING")]),
    S("invoice", "RECORD", fields=[S("month", "STRING")]),
    S("cost_type", "STRING"), S("cost_at_list", "FLOAT"),
]


def row(i: int, month: str, export_time: str, cost: float) -> dict:
    y, m = month[:4], month[4:]
    return {
        "billing_account_id": "01A2B3-C4D5E6-F7A8B9",
        "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
        "sku": {"id": "A100-GPU", "description": "Nvidia Tesla A100 GPU running in Americas"},
        "usage_start_time": f"{y}-{m}-01T{i % 24:02d}:00:00Z", "usage_end_time": f"{y}-{m}-01T{i % 24:02d}:59:59Z",
        "project": {"id": "ml-train", "name": "ML training", "labels": [{"key": "team", "value": "ml-research"}]},
        "labels": [{"key": "owner-team", "value": "ML-Research"}], "system_labels": [],
        "location": {"location": "us-central1", "country": "US", "region": "us-central1", "zone": "us-central1-a"},
        "export_time": export_time, "cost": cost, "currency": "USD", "currency_conversion_rate": 1.0,
        "usage": {"amount": 3600.0, "unit": "seconds", "amount_in_pricing_units": 1.0, "pricing_unit": "hour"},
        "credits": [{"name": "Committed use discount", "amount": -round(cost * 0.3, 6), "full_name": None,
                     "id": "CUD-1", "type": "COMMITTED_USAGE_DISCOUNT"}] if i % 3 == 0 else [],
        "invoice": {"month": month}, "cost_type": "regular", "cost_at_list": round(cost * 1.1, 6),
    }


@pytest.fixture(scope="module")
def emulator():
    server = BigQueryEmulator(ROOT / ".venv-bqemulator", PROJECT)
    yield server
    server.stop()


@pytest.fixture
def export(emulator, request):
    return _table(emulator, f"gcp_billing_export_v1_{request.node.name[-12:]}")


@pytest.fixture
def partitioned(emulator, request):
    """A table partitioned by ingestion time (`_PARTITIONTIME`), as Google's billing export is."""
    return _table(emulator, f"gcp_billing_export_p_{request.node.name[-12:]}",
                  bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY))


def _table(emulator, name: str, partitioning=None):
    cfg = BigQueryBillingExport(project=PROJECT, dataset="billing", table=name, api_endpoint=emulator.endpoint,
                                storage_api_endpoint=f"127.0.0.1:{emulator.grpc_port}")
    client = cfg.client()
    client.create_dataset("billing", exists_ok=True)
    table = bigquery.Table(cfg.table_id, schema=SCHEMA)
    table.time_partitioning = partitioning
    client.create_table(table, exists_ok=True)
    return cfg, client


def landed_rows(delivery) -> list[dict]:
    (file,) = delivery.files
    return landed_rows_of(file)


def landed_rows_of(file: Path) -> list[dict]:
    import pyarrow.parquet as pq
    return pq.read_table(file).to_pylist()


def _cost(r: dict) -> Decimal:
    return Decimal(repr(r["cost"]))  # the FLOAT64 as its shortest text, as the normalizer reads it


class FilterSpy:
    """month_filter as it is, each call's first_partition recorded."""

    def __init__(self, monkeypatch, narrow: str = ""):
        from pipelines.remote import bigquery as bigquery_delivery
        self.real, self.bounds, self.narrow = bigquery_delivery.month_filter, [], narrow
        monkeypatch.setattr(bigquery_delivery, "month_filter", self)

    def __call__(self, period, first_partition):
        self.bounds.append(first_partition)
        return self.real(period, first_partition) + (self.narrow if first_partition is not None else "")


def test_month_lands_whole_and_only_when_new_rows_arrive(export, tmp_path, monkeypatch):
    cfg, client = export
    costs = [1.25, 0.1, 3.3333, 12.0, 0.07]
    assert client.insert_rows_json(cfg.table_id, [row(i, "202610", "2026-10-02T01:00:00Z", c) for i, c in enumerate(costs)]) == []
    assert client.insert_rows_json(cfg.table_id, [row(9, "202609", "2026-10-01T05:00:00Z", 99.0)]) == []
    root = DataRoot(tmp_path)
    spy = FilterSpy(monkeypatch)
    [(delivery, new)] = sync_bigquery(root, "gcp-billing", cfg, "2026-10")
    assert new
    rows = landed_rows(delivery)
    assert len(rows) == len(costs)  # only invoice month 2026-10
    assert sum(_cost(r) for r in rows) == sum(Decimal(repr(c)) for c in costs)
    assert rows[0]["project"]["labels"] == [{"key": "team", "value": "ml-research"}]  # nested, as exported
    assert {r["invoice"]["month"] for r in rows} == {"202610"}
    assert spy.bounds == [None]  # a table without ingestion-time partitions is read whole
    # No new export: nothing is queried out or landed again.
    assert sync_bigquery(root, "gcp-billing", cfg, "2026-10") == []
    # GCP adds a late row to the month: the whole month is exported again and replaces it.
    assert client.insert_rows_json(cfg.table_id, [row(7, "202610", "2026-10-03T01:00:00Z", 5.5)]) == []
    [(again, new)] = sync_bigquery(root, "gcp-billing", cfg, "2026-10")
    assert new and len(landed_rows(again)) == len(costs) + 1
    assert root.latest_delivery("gcp-billing", "2026-10").delivery_id == again.delivery_id


def test_month_filter_is_a_checked_period_and_a_utc_partition_bound():
    import datetime as dt
    from pipelines.remote.bigquery import month_filter
    assert month_filter("2026-10", None) == 'invoice.month = "202610"'
    bound = dt.datetime(2026, 9, 30, 17, 0, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    assert month_filter("2026-10", bound) == ('invoice.month = "202610" AND (_PARTITIONTIME >= '
                                              'TIMESTAMP("2026-10-01 00:00:00.000000+00") OR _PARTITIONTIME IS NULL)')
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_filter('2026-10" OR true OR "', None)


def test_partitioned_table_is_read_from_the_months_first_partition_on(partitioned, tmp_path, monkeypatch):
    cfg, client = partitioned
    costs = [1.5, 0.25, 4.0]
    assert client.insert_rows_json(cfg.table_id, [row(i, "202610", "2026-10-02T01:00:00Z", c) for i, c in enumerate(costs)]) == []
    assert client.insert_rows_json(cfg.table_id, [row(9, "202609", "2026-10-01T05:00:00Z", 99.0)]) == []
    spy = FilterSpy(monkeypatch)
    [(delivery, new)] = sync_bigquery(DataRoot(tmp_path), "gcp-billing", cfg, "2026-10")
    rows = landed_rows(delivery)
    assert new and sorted(_cost(r) for r in rows) == sorted(Decimal(repr(c)) for c in costs)
    # one read, bounded by the first partition the watermark query found (the server accepted it)
    assert len(spy.bounds) == 1 and spy.bounds[0] is not None


def test_rows_outside_the_partitions_read_send_the_read_over_the_whole_table(partitioned, tmp_path, monkeypatch):
    """The emulator puts every row in today's partition, so a row of the month in a partition
    before the bound cannot be made here: the bounded read is narrowed instead (the server runs
    both reads for real), leaving one row out."""
    cfg, client = partitioned
    costs = [1.5, 0.25, 4.0]
    assert client.insert_rows_json(cfg.table_id, [row(i, "202610", "2026-10-02T01:00:00Z", c) for i, c in enumerate(costs)]) == []
    spy = FilterSpy(monkeypatch, narrow=" AND cost < 4")
    [(delivery, _)] = sync_bigquery(DataRoot(tmp_path), "gcp-billing", cfg, "2026-10")
    assert sorted(_cost(r) for r in landed_rows(delivery)) == sorted(Decimal(repr(c)) for c in costs)
    assert [b is not None for b in spy.bounds] == [True, False]


def test_unreachable_bigquery_is_a_clear_error(tmp_path):
    cfg = BigQueryBillingExport(project=PROJECT, dataset="billing", table="t",
                                api_endpoint=f"http://127.0.0.1:{free_port()}", storage_api_endpoint=f"127.0.0.1:{free_port()}")
    with pytest.raises(SourceUnreachable, match="billing-proj.billing.t at http://127.0.0.1"):
        sync_bigquery(DataRoot(tmp_path), "gcp-billing", cfg, "2026-10")


def test_aispend_run_picks_up_the_table_and_a_quiet_night_reprocesses_nothing(export, tmp_path):
    import duckdb
    cfg, client = export
    costs = [2.5, 0.75, 10.125]
    assert client.insert_rows_json(cfg.table_id, [row(i, "202610", "2026-10-02T01:00:00Z", c) for i, c in enumerate(costs)]) == []
    config = _config(tmp_path, cfg.table, cfg.api_endpoint, cfg.storage_api_endpoint)
    first = _run(config)
    assert first.exit_code == 0, first.output + first.stderr
    assert "2026-10 gcp_billing: published" in first.output
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    billed, effective, providers = con.execute(
        "SELECT sum(BilledCost), sum(EffectiveCost), list(DISTINCT ProviderName) FROM focus_costs").fetchone()
    con.close()
    assert billed == sum(Decimal(repr(c)) for c in costs)
    credits = sum(Decimal(repr(-round(c * 0.3, 6))) for i, c in enumerate(costs) if i % 3 == 0)
    assert effective == billed + credits and providers == ["Google Cloud"]
    second = _run(config)
    assert second.exit_code == 0 and "2026-10 gcp_billing: unchanged" in second.output


def test_connection_dropped_mid_download_lands_nothing_and_next_run_recovers(emulator, export, tmp_path, monkeypatch):
    from pipelines.remote import bigquery as bigquery_delivery
    cfg, client = export
    costs = [round(0.5 + i / 7, 6) for i in range(2_000)]
    assert client.insert_rows_json(cfg.table_id, [row(i, "202610", "2026-10-02T01:00:00Z", c) for i, c in enumerate(costs)]) == []
    # The Storage Read API's stream is cut 64 kB into the rows (~700 kB here) and the server stays away.
    proxy = CuttingTcpProxy(emulator.grpc_port, cut_after=64_000, stay_down=True)
    # Retried for 2 s instead of 20 before the source counts as unreachable: the same path, sooner.
    monkeypatch.setattr(bigquery_delivery, "RETRY_SECONDS", 2.0)
    config = _config(tmp_path, cfg.table, cfg.api_endpoint, f"127.0.0.1:{proxy.port}")
    try:
        failed = _run(config)
        assert failed.exit_code != 0 and proxy.cuts == 1
        errors = [line for line in failed.stderr.splitlines() if line.startswith("aispend: error:")]
        assert len(errors) == 1 and "gcp-billing: unreachable" in errors[0] and "next run retries" in errors[0]
        assert "Retry" in errors[0] or "unavailable" in errors[0].lower()  # the cause, as the client saw it
        assert not (tmp_path / "data" / "landing" / "gcp-billing" / "2026-10").exists()
        assert not (tmp_path / "data" / "focus").exists()
        assert not list((tmp_path / "data").rglob("*.parquet"))  # no half-written export left anywhere
        proxy.down = False
        recovered = _run(config)
        assert recovered.exit_code == 0 and "2026-10 gcp_billing: published" in recovered.output
    finally:
        proxy.close()
    assert _warehouse_billed(tmp_path) == sum(Decimal(repr(c)) for c in costs)


def test_stream_cut_once_resumes_where_it_stopped(emulator, export, tmp_path):
    cfg, client = export
    costs = [round(0.5 + i / 7, 6) for i in range(2_000)]
    assert client.insert_rows_json(cfg.table_id, [row(i, "202610", "2026-10-02T01:00:00Z", c) for i, c in enumerate(costs)]) == []
    proxy = CuttingTcpProxy(emulator.grpc_port, cut_after=64_000)
    try:
        cut = cfg.model_copy(update={"storage_api_endpoint": f"127.0.0.1:{proxy.port}"})
        [(delivery, _)] = sync_bigquery(DataRoot(tmp_path), "gcp-billing", cut, "2026-10")
    finally:
        proxy.close()
    assert proxy.cuts == 1
    # every row once: the read resumed at the row it had reached, none lost, none twice
    assert sorted(_cost(r) for r in landed_rows(delivery)) == sorted(Decimal(repr(c)) for c in costs)


def test_bad_value_in_the_table_is_quarantined_and_a_restated_month_recovers(export, tmp_path):
    cfg, client = export
    good = [1.25, 2.5]
    assert client.insert_rows_json(cfg.table_id, [row(i, "202610", "2026-10-02T01:00:00Z", c) for i, c in enumerate(good)]) == []
    config = _config(tmp_path, cfg.table, cfg.api_endpoint, cfg.storage_api_endpoint)
    assert _run(config).exit_code == 0
    # A later export adds a row in a currency that is not ISO 4217.
    bad = row(5, "202610", "2026-10-03T01:00:00Z", 7.0) | {"currency": "U$D"}
    assert client.insert_rows_json(cfg.table_id, [bad]) == []
    failed = _run(config)
    assert failed.exit_code != 0
    errors = [line for line in failed.stderr.splitlines() if line.startswith("aispend: error:")]
    landed = f"{cfg.table}-202610.parquet"
    assert len(errors) == 1 and landed in errors[0] and "column currency" in errors[0], errors
    quarantined = tmp_path / "data" / "quarantine" / "gcp-billing" / landed
    assert quarantined.with_name(f"{landed}.reason.json").exists()
    # the row named is the bad one (1-based data row of the landed file)
    named = int(re.search(r"row (\d+)", errors[0]).group(1))
    assert landed_rows_of(quarantined)[named - 1]["currency"] == "U$D"
    assert _warehouse_billed(tmp_path) == sum(Decimal(repr(c)) for c in good)  # the last good month stays
    # Google restates the row (a corrected one, exported later): the month lands again and recovers.
    client.query(f"DELETE FROM `{cfg.table_id}` WHERE currency = 'U$D'").result()
    fixed = bad | {"currency": "USD", "export_time": "2026-10-04T01:00:00Z"}
    assert client.insert_rows_json(cfg.table_id, [fixed]) == []
    recovered = _run(config)
    assert recovered.exit_code == 0 and "2026-10 gcp_billing: published" in recovered.output
    assert _warehouse_billed(tmp_path) == sum(Decimal(repr(c)) for c in good + [7.0])


def _config(tmp_path: Path, table: str, endpoint: str, storage_endpoint: str) -> Path:
    config = tmp_path / "aispend.yaml"
    config.write_text(f"data_dir: data\nsources:\n  gcp-billing:\n    bigquery:\n      project: {PROJECT}\n"
                      f"      dataset: billing\n      table: {table}\n      api_endpoint: {endpoint}\n"
                      f"      storage_api_endpoint: {storage_endpoint}\n")
    return config


def _run(config: Path):
    from click.testing import CliRunner
    from pipelines.cli import main
    return CliRunner().invoke(main, ["run", "--config", str(config), "--period", "2026-10"], catch_exceptions=False)


def _warehouse_billed(tmp_path: Path) -> Decimal:
    import duckdb
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("SELECT sum(BilledCost) FROM focus_costs").fetchone()[0]
    finally:
        con.close()
