"""Issue 6: a report as the browser shows it: the demo's standalone .html rendered by headless
Chromium (Debian package `chromium`, installed by scripts/make-chromium.sh), and the screenshot
is not blank; the Dagster asset and the monthly schedule."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import dagster as dg
import duckdb
import numpy as np
import yaml
from PIL import Image

from pipelines.definitions import build_definitions, nightly_job, showback_reports


def screenshot(html, png, width=760, height=2400):
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--hide-scrollbars", f"--screenshot={png}", f"--window-size={width},{height}", html.as_uri()],
                   check=True, capture_output=True, timeout=120)


def test_report_renders_in_headless_chromium(demo_run, tmp_path):
    data, _ = demo_run
    (period,) = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True).execute(
        "SELECT max(billing_period) FROM showback").fetchone()
    for name in ("search", "finance-overview"):
        png = tmp_path / f"{name}.png"
        screenshot(data / "reports" / period / f"{name}.html", png)
        img = Image.open(png).convert("RGB")
        assert img.size == (760, 2400)
        pixels = np.asarray(img).reshape(-1, 3).astype(int)
        colours = len(np.unique(pixels, axis=0))
        not_white = (pixels.min(axis=1) < 240).mean()
        # text, tables, the header band and the charts (PNG by data: URI) all painted
        assert colours > 200, f"{name}: only {colours} colours"
        assert not_white > 0.10, f"{name}: {not_white:.0%} painted"
        # the charts loaded: the chart blue (#2b6cb0) is on screen
        assert (np.abs(pixels - [0x2b, 0x6c, 0xb0]).max(axis=1) < 8).sum() > 500


def test_monthly_schedule_materializes_the_previous_month_and_sends(tmp_path):
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(yaml.safe_dump({"reports": {"schedule_day": 5}}))
    defs = build_definitions(str(cfg), str(tmp_path))
    schedule = defs.resolve_schedule_def("monthly_reports")
    assert schedule.cron_schedule == "0 6 5 * *"
    ctx = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2027, 1, 5, 6, tzinfo=dt.timezone.utc))
    request = schedule(ctx)
    assert request.partition_key == "2026-12-01"
    assert request.run_config == {"ops": {"showback_reports": {"config": {"send": True}}}}
    assert defs.resolve_job_def("showback_reports_job") is not None
    # the nightly job refreshes data; it never mails reports
    assert showback_reports.key not in nightly_job.selection.resolve(defs.resolve_asset_graph())


def test_asset_writes_the_reports_dry_run(demo_run, tmp_path):
    data, _ = demo_run
    (tmp_path / "data").mkdir()
    shutil.copyfile(data / "warehouse.duckdb", tmp_path / "data" / "warehouse.duckdb")
    (period,) = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True).execute(
        "SELECT max(billing_period) FROM showback").fetchone()
    defs = build_definitions(None, str(tmp_path / "data"))
    result = dg.materialize([showback_reports], partition_key=f"{period}-01",
                            resources={"settings": defs.resources["settings"]})
    assert result.success
    md = result.asset_materializations_for_node("showback_reports")[0].metadata
    assert md["sent"].value == 0 and md["written"].value >= 9
    assert (tmp_path / "data" / "reports" / period / "finance-overview.eml").exists()
