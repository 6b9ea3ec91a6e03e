"""Dagster definitions: landing -> FOCUS partition -> warehouse, monthly partitions by billing
period, blocking checks on every FOCUS partition, and the nightly schedule.

Assets stay thin: the work is in pipelines/ingest.py, so tests and `aispend run` share it."""

import datetime as dt
import os
from pathlib import Path

import dagster as dg

from normalizers.errors import BadInputError
from normalizers.normalize import SOURCES

from . import ingest, warehouse
from .config import load_config
from .remote.azure_blob import sync_blob
from .remote.bigquery import sync_bigquery
from .remote import SourceUnreachable
from .remote.s3 import sync_s3
from .storage import DataRoot

MONTHLY = dg.MonthlyPartitionsDefinition(start_date="2018-01-01", end_offset=1)


class AispendSettings(dg.ConfigurableResource):
    """Where the config file and data live (AISPEND_CONFIG / AISPEND_DATA by default)."""
    config_path: str | None = None
    data_dir: str | None = None

    def config(self):
        return load_config(Path(self.config_path) if self.config_path else None,
                           Path(self.data_dir) if self.data_dir else None)

    def root(self) -> DataRoot:
        return DataRoot(self.config().data_dir)


def landing_asset(source: str):
    key = source.replace("-", "_")

    @dg.asset(name=f"{key}_landing", partitions_def=MONTHLY, group_name="landing",
              description=f"New {source} deliveries, from its configured S3 / BigQuery / Blob location "
                          f"and the local inbox, copied into landing/ (by checksum; only what changed).")
    def _landing(context: dg.AssetExecutionContext, settings: AispendSettings) -> dg.MaterializeResult:
        cfg = settings.config()
        period = context.partition_key[:7]
        source_cfg = cfg.sources[source]
        try:
            landed = []
            if source_cfg.s3 is not None:
                landed += sync_s3(settings.root(), source, source_cfg.s3, period)
            if source_cfg.bigquery is not None:
                landed += sync_bigquery(settings.root(), source, source_cfg.bigquery, period)
            if source_cfg.blob is not None:
                landed += sync_blob(settings.root(), source, source_cfg.blob, period)
            landed += ingest.sync_inbox(settings.root(), source, source_cfg.inbox, period, cfg.options(source))
        except SourceUnreachable as err:
            raise dg.Failure(description=f"{source}: unreachable: {err}") from err
        except BadInputError as err:
            raise dg.Failure(description=f"{source}: {err} (quarantined)") from err
        new = [d.delivery_id for d, is_new in landed if is_new]
        return dg.MaterializeResult(metadata={"new_deliveries": len(new), "deliveries": [d.delivery_id for d, _ in landed]})

    return _landing


def focus_asset(source: str):
    key = source.replace("-", "_")
    checks = [dg.AssetCheckSpec(name, asset=f"{key}_focus", blocking=True, description=text)
              for name, text in (("focus_schema", "Every row meets the FOCUS 1.2 contract (DuckDB rules and pandera)."),
                                 ("conservation", "sum(BilledCost) equals the export's total per period and currency."))]

    @dg.asset(name=f"{key}_focus", partitions_def=MONTHLY, group_name="focus", check_specs=checks,
              deps=[f"{key}_landing"],
              description=f"The latest {source} delivery of the billing period as FOCUS 1.2 Parquet, "
                          f"published only if its checks pass.")
    def _focus(context: dg.AssetExecutionContext, settings: AispendSettings):
        period = context.partition_key[:7]
        try:
            result = ingest.process_period(settings.root(), source, period, options=settings.config().options(source))
        except BadInputError as err:
            raise dg.Failure(description=f"{source}: {err} (the delivery was quarantined; "
                                         f"the last good data stays published)") from err
        for c in result.checks:
            yield dg.AssetCheckResult(check_name=c.name, passed=c.passed, metadata={"detail": c.detail, **c.metadata})
        if result.status == "no-delivery":
            for name in ("focus_schema", "conservation"):
                yield dg.AssetCheckResult(check_name=name, passed=True, metadata={"detail": "no delivery for this period"})
        yield dg.MaterializeResult(metadata={"status": result.status, "rows": result.rows,
                                             "delivery": result.delivery or ""})
        failed = [c for c in result.checks if not c.passed]
        if failed:
            raise dg.Failure(description=f"{source} {period}: check(s) failed, nothing published: "
                                         + "; ".join(f"{c.name}: {c.detail}" for c in failed))

    return _focus


@dg.asset(partitions_def=MONTHLY, group_name="warehouse", deps=[f"{s.replace('-', '_')}_focus" for s in SOURCES],
          description="warehouse.duckdb, rebuilt once per run after every source: focus_costs, cost lines, "
                      "allocation, showback/chargeback and the AI inventory. A run in which a source failed "
                      "skips it; the sensor warehouse_after_failed_night then rebuilds it from what was published.")
def warehouse_views(settings: AispendSettings) -> dg.MaterializeResult:
    counts = warehouse.refresh(settings.root(), settings.config())
    return dg.MaterializeResult(metadata={"focus_costs_rows": counts["focus_costs"],
                                          "warehouse": str(settings.root().warehouse)})


class ReportRunConfig(dg.Config):
    """Materializing by hand renders only (dry run); the monthly schedule sends."""
    send: bool = False
    resend: bool = False


@dg.asset(partitions_def=MONTHLY, group_name="reports", deps=[warehouse_views],
          description="The month's showback reports per team and the finance overview, from warehouse "
                      "tables: reports/<YYYY-MM>/<team>.html and .eml, e-mailed when `send` is set.")
def showback_reports(context: dg.AssetExecutionContext, config: ReportRunConfig,
                     settings: AispendSettings) -> dg.MaterializeResult:
    from reports.run import make_reports
    result = make_reports(settings.config(), context.partition_key[:7], send=config.send or config.resend,
                          resend=config.resend)
    for line in result.lines():
        context.log.info(line)
    if result.failed:
        raise dg.Failure(description=f"{len(result.failed)} report(s) not sent (the others went): "
                                     + "; ".join(result.failed))
    return dg.MaterializeResult(metadata={"written": len(result.written), "sent": len(result.sent),
                                          "skipped": len(result.skipped), "folder": str(result.folder)})


ASSETS = [f(s) for s in SOURCES for f in (landing_asset, focus_asset)] + [warehouse_views, showback_reports]
# The nightly job refreshes the data; the reports go once a month, on their own schedule.
nightly_job = dg.define_asset_job("nightly", selection=dg.AssetSelection.all() - dg.AssetSelection.assets(showback_reports),
                                  executor_def=dg.in_process_executor)
warehouse_job = dg.define_asset_job("warehouse", selection=dg.AssetSelection.assets(warehouse_views),
                                    executor_def=dg.in_process_executor)
reports_job = dg.define_asset_job("showback_reports_job", selection=dg.AssetSelection.assets(showback_reports),
                                  executor_def=dg.in_process_executor)


def nightly_periods(today: dt.date) -> list[str]:
    """Providers restate the month in progress and the one before it: re-process both."""
    first = today.replace(day=1)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    return [previous.strftime("%Y-%m"), first.strftime("%Y-%m")]


@dg.schedule(cron_schedule="30 2 * * *", job=nightly_job, execution_timezone="UTC")
def nightly_schedule(context: dg.ScheduleEvaluationContext):
    today = context.scheduled_execution_time.date()
    for period in nightly_periods(today):
        yield dg.RunRequest(run_key=f"{today}-{period}", partition_key=f"{period}-01")


@dg.run_failure_sensor(monitored_jobs=[nightly_job], request_job=warehouse_job,
                       default_status=dg.DefaultSensorStatus.RUNNING)
def warehouse_after_failed_night(context: dg.RunFailureSensorContext):
    """Dagster skips warehouse_views when any source of the run failed (an unreachable bucket, a
    quarantined delivery); the other sources may still have published new data. Rebuild the
    warehouse from what is published, once per failed run (the build is the night's longest step:
    one build per run, not one per published source)."""
    partition = context.dagster_run.tags.get("dagster/partition")
    if partition:
        yield dg.RunRequest(run_key=f"warehouse-after-{context.dagster_run.run_id}", partition_key=partition)


def previous_month(today: dt.date) -> str:
    return ((today.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m"))


def reports_schedule(day: int) -> dg.ScheduleDefinition:
    """On `day` of each month (after month close), the previous month's reports, sent."""
    @dg.schedule(name="monthly_reports", cron_schedule=f"0 6 {day} * *", job=reports_job,
                 execution_timezone="UTC")
    def _monthly(context: dg.ScheduleEvaluationContext):
        period = previous_month(context.scheduled_execution_time.date())
        return dg.RunRequest(run_key=f"reports-{period}", partition_key=f"{period}-01",
                             run_config={"ops": {"showback_reports": {"config": {"send": True}}}})
    return _monthly


def build_definitions(config_path: str | None = None, data_dir: str | None = None) -> dg.Definitions:
    settings = AispendSettings(config_path=config_path, data_dir=data_dir)
    reports = settings.config().sections.get("reports") if config_path else None
    day = reports.schedule_day if reports is not None else 3
    return dg.Definitions(
        assets=ASSETS, jobs=[nightly_job, warehouse_job, reports_job], schedules=[nightly_schedule, reports_schedule(day)],
        sensors=[warehouse_after_failed_night],
        resources={"settings": settings})


defs = build_definitions(os.environ.get("AISPEND_CONFIG"), os.environ.get("AISPEND_DATA"))
