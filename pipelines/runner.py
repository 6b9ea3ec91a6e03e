"""`aispend run`: the nightly Dagster job, executed in process for each billing period."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from tqdm import tqdm

from .config import load_config
from .definitions import build_definitions, nightly_periods


@dataclass
class RunSummary:
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def run_nightly(config_path: Path | None, data_dir: Path | None, periods: list[str] | None) -> RunSummary:
    import datetime as dt
    cfg = load_config(config_path, data_dir)  # fail early, with the config's own message
    periods = periods or nightly_periods(dt.date.today())
    defs = build_definitions(str(config_path) if config_path else None, str(cfg.data_dir))
    summary = RunSummary()
    instance = dg.DagsterInstance.ephemeral()
    for period in tqdm(periods, desc="billing periods", unit="month", disable=None):
        result = defs.resolve_job_def("nightly").execute_in_process(
            partition_key=f"{period}-01", instance=instance, raise_on_error=False, run_config=QUIET)
        _collect(result, period, summary)
        build_failed = any(e.event_type_value == "STEP_FAILURE" and e.step_key == "warehouse_views"
                           for e in result.all_events)
        if not result.success and not build_failed:  # as the sensor warehouse_after_failed_night does
            _collect(defs.resolve_job_def("warehouse").execute_in_process(
                partition_key=f"{period}-01", instance=instance, raise_on_error=False, run_config=QUIET),
                period, summary)
    summary.lines.append(f"warehouse: {cfg.data_dir / 'warehouse.duckdb'}")
    return summary


def _collect(result, period: str, summary: RunSummary) -> None:
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            summary.errors.append(f"{period}: {_failure_text(event.event_specific_data.error)}")
        elif event.event_type_value == "ASSET_MATERIALIZATION" and event.step_key.endswith("_focus"):
            md = event.event_specific_data.materialization.metadata
            summary.lines.append(f"{period} {event.step_key[:-6]}: {md['status'].value}, {md['rows'].value:,} rows")


def _failure_text(err) -> str:
    """The Failure's description when there is one (our one clear line), else the message."""
    while err is not None:
        if "Failure" in (err.cls_name or "") and err.message:
            return err.message.split(": ", 1)[-1].strip() if err.message.startswith("dagster") else err.message.strip()
        if err.cause is None:
            return err.message.strip().splitlines()[0]
        err = err.cause
    return "unknown failure"
