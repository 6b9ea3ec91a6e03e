"""`aispend report` and the `showback_reports` asset: render every team's report and the finance
overview for one month, write them under data/reports/<YYYY-MM>/ (<name>.html for the browser,
<name>.eml as sent), and send them unless this is a dry run.

Sending is recorded in data/reports/<YYYY-MM>/sent-log.json as each message goes: a report
already sent is not sent again without `resend` (a re-run after a partial failure sends only
what failed)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.config_error import ConfigError

from . import config as reports_config
from .data import finance_report, report_teams, team_report
from .mail import Sender, SendFailed, build_message
from .render import render_finance, render_team

FINANCE = "finance-overview"
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_SAFE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass
class ReportRun:
    period: str
    folder: Path
    written: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already sent, or nobody to send to
    failed: list[str] = field(default_factory=list)  # "name: error"

    def lines(self) -> list[str]:
        out = [f"reports {self.period}: {len(self.written)} written to {self.folder}"]
        if self.sent:
            out.append(f"  sent: {', '.join(self.sent)}")
        out += [f"  skipped: {s}" for s in self.skipped]
        out += [f"  FAILED: {f}" for f in self.failed]
        return out


def file_name(team: str) -> str:
    """A file name from a team name (a tag value: data, never a path): the name itself when it is
    plainly safe, else a slug and a short hash, so nothing escapes the reports folder."""
    if _SAFE.match(team) and team != FINANCE and ".." not in team:
        return team
    slug = re.sub(r"[^a-z0-9]+", "-", team.lower()).strip("-")[:40] or "team"
    return f"team-{slug}-{hashlib.sha256(team.encode()).hexdigest()[:10]}"


def check_period(period: str) -> str:
    if not isinstance(period, str) or not _PERIOD.match(period):
        raise ConfigError(f"period {period!r} is not a month (YYYY-MM)")
    return period


def make_reports(cfg, period: str, send: bool = False, resend: bool = False,
                 sender: Sender | None = None) -> ReportRun:
    """cfg: pipelines.config.Config. Dry run unless `send`; returns what happened."""
    check_period(period)
    rcfg = cfg.sections.get(reports_config.SECTION) or reports_config.ReportsConfig()
    folder = Path(cfg.data_dir) / "reports" / period
    folder.mkdir(parents=True, exist_ok=True)
    run = ReportRun(period, folder)
    warehouse = Path(cfg.data_dir) / "warehouse.duckdb"
    if not warehouse.exists():
        raise ConfigError(f"{warehouse}: no warehouse yet (run `aispend run` first)")
    if send and sender is None:
        rcfg.smtp.credentials()  # a named variable that is unset: one clear error before any work
    with duckdb.connect(str(warehouse), read_only=True) as con:
        reports = [(file_name(t), t, render_team(team_report(con, t, period, rcfg.team(t))), rcfg.team(t).recipients)
                   for t in report_teams(con, period)]
        reports.append((FINANCE, FINANCE, render_finance(finance_report(con, period, rcfg)), rcfg.finance))
    log_path = folder / "sent-log.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {}
    sender = sender or (Sender(rcfg.smtp) if send else None)
    for name, who, rendered, recipients in reports:
        msg = build_message(rendered, rcfg.sender, recipients, f"{period}/{who}")
        _write(folder / f"{name}.html", rendered.browser_html.encode())
        _write(folder / f"{name}.eml", bytes(msg))
        run.written.append(name)
        if not send:
            continue
        if not recipients:
            run.skipped.append(f"{name}: no recipients in the config (reports.teams.<team>.recipients)")
            continue
        if name in log and not resend:
            run.skipped.append(f"{name}: already sent {log[name]['sent_at']} (use --resend to send again)")
            continue
        try:
            attempts = sender.send(msg)
        except SendFailed as err:
            run.failed.append(f"{name}: {err}")
            continue
        log[name] = {"team": who, "to": list(recipients), "message_id": msg["Message-ID"],
                     "sent_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "attempts": attempts}
        _write(log_path, json.dumps(log, indent=2, sort_keys=True).encode())  # as each one goes
        run.sent.append(name)
    return run


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: a reader never sees half a report."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
