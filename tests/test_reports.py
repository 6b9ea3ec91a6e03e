"""Issue 6: the monthly showback reports, e-mailed to a real SMTP server (aiosmtpd on 127.0.0.1,
STARTTLS and AUTH) and read back with the email package; figures compared with the warehouse
through the test's own SQL; isolation over every demo team; escaping; retry; the resend guard."""
from __future__ import annotations

import csv

import html as htmllib
import json
import re
import shutil
from decimal import ROUND_HALF_UP, Decimal
from email import message_from_bytes, policy
from pathlib import Path

import duckdb
import pytest
import yaml
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.config import load_config
from pipelines.config_error import ConfigError
from reports.mail import Sender
from reports.run import FINANCE, make_reports
from reports_helpers import PASSWORD, USER, SmtpServer, cids, parts

SCRIPT = "<script>alert(1)</script>"


def cents(value) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


@pytest.fixture(scope="module")
def demo(demo_run):
    data, _ = demo_run
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    period = con.execute("SELECT max(billing_period) FROM showback").fetchone()[0]
    teams = [t for (t,) in con.execute("SELECT DISTINCT x_Team FROM allocated_costs WHERE billing_period = ? "
                                       "AND x_Team <> 'unallocated' ORDER BY 1", [period]).fetchall()]
    yield data, con, period, teams
    con.close()


def org(tmp_path: Path, demo, server: SmtpServer | None = None, budgets: dict | None = None) -> Path:
    """A data folder with a copy of the demo warehouse and a config mailing every team."""
    data, _, _, teams = demo
    (tmp_path / "data").mkdir()
    shutil.copyfile(data / "warehouse.duckdb", tmp_path / "data" / "warehouse.duckdb")
    section = {"sender": "finops@example.com", "finance": ["cfo@example.com"],
               "teams": {t: {"recipients": [f"lead-{i}@example.com"], **({"budget": budgets[t]} if budgets and t in budgets else {})}
                         for i, t in enumerate(teams)}}
    if server:
        section["smtp"] = {"host": "127.0.0.1", "port": server.port, "starttls": True, "ca_file": str(server.cert),
                           "username_env": "TEST_SMTP_USER", "password_env": "TEST_SMTP_PASSWORD"}
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(yaml.safe_dump({"data_dir": "data", "reports": section}))
    return cfg


def recipient_of(teams: list[str], team: str) -> str:
    return f"lead-{teams.index(team)}@example.com"


@pytest.fixture
def smtp_env(monkeypatch):
    monkeypatch.setenv("TEST_SMTP_USER", USER)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)


@pytest.fixture(scope="module")
def sent(demo, tmp_path_factory):
    """Every demo report sent once over STARTTLS with AUTH: (server messages by recipient, run)."""
    tmp = tmp_path_factory.mktemp("sent")
    mp = pytest.MonkeyPatch()
    mp.setenv("TEST_SMTP_USER", USER)
    mp.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    try:
        with SmtpServer(tmp) as server:
            cfg = org(tmp, demo, server, budgets={demo[3][0]: 1000})
            run = make_reports(load_config(cfg), demo[2], send=True)
            by_rcpt = {e.rcpt_tos[0]: message_from_bytes(e.content, policy=policy.default)
                       for e in server.handler.received}
            logins = list(server.handler.logins)
    finally:
        mp.undo()
    return by_rcpt, run, logins, tmp


def test_every_report_arrives_over_starttls_with_auth(demo, sent):
    by_rcpt, run, logins, _ = sent
    _, _, _, teams = demo
    assert run.failed == [] and run.skipped == []
    assert sorted(run.sent) == sorted(teams + [FINANCE])
    assert set(by_rcpt) == {recipient_of(teams, t) for t in teams} | {"cfo@example.com"}
    assert logins == [USER] * (len(teams) + 1)  # the password came from the environment


def test_structure_images_and_no_scripts(sent):
    by_rcpt, *_ = sent
    for rcpt, msg in by_rcpt.items():
        text, html, images = parts(msg)
        referenced = cids(html)
        assert referenced, rcpt
        assert set(referenced) <= set(images), f"{rcpt}: a cid: without its image"
        assert set(images) <= set(referenced), f"{rcpt}: an image nothing shows"
        for tag in re.findall(r"<img\b[^>]*>", html):
            assert re.search(r'alt="[^"]{10,}"', tag), tag
        low = html.lower()
        assert "<script" not in low and "<svg" not in low and "javascript:" not in low
        assert "<style" not in low, "CSS is inlined (mail clients drop <style>)"
        assert 'style="' in html and "<table" in low
        assert "data:image" not in html  # the e-mail uses cid:, the browser file data: URIs
        assert text.strip() and "<" not in text.split("\n", 1)[0]


def test_figures_equal_the_warehouse(demo, sent):
    """Each team's total, previous month and top service as the warehouse has them (own SQL on
    allocated_costs, not the report's queries), in both the text and the HTML."""
    _, con, period, teams = demo
    by_rcpt, *_ = sent
    (prev,) = con.execute("SELECT max(billing_period) FROM allocated_costs WHERE billing_period < ?", [period]).fetchone()
    for team in teams:
        text, html, _ = parts(by_rcpt[recipient_of(teams, team)])
        spent = con.execute("SELECT BillingCurrency, sum(EffectiveCost) AS cost FROM allocated_costs WHERE x_Team = ? "
                            "AND billing_period = ? GROUP BY 1 ORDER BY cost DESC, 1", [team, period]).fetchall()
        # The report's currency: its budget's (USD, the first team's), else the one the team spent
        # most in (the demo's travel expenses in EUR can outweigh a team's USD in some months).
        currency = "USD" if team == teams[0] else spent[0][0]
        cur = dict(spent).get(currency, 0)
        (before,) = con.execute("SELECT coalesce(sum(EffectiveCost), 0) FROM allocated_costs WHERE x_Team = ? "
                                "AND billing_period = ? AND BillingCurrency = ?", [team, prev, currency]).fetchone()
        service, amount = con.execute(
            "SELECT ServiceName, sum(EffectiveCost) FROM allocated_costs WHERE x_Team = ? AND billing_period = ? "
            "AND BillingCurrency = ? GROUP BY 1 ORDER BY 2 DESC LIMIT 1", [team, period, currency]).fetchone()
        for body in (text, htmllib.unescape(html)):
            assert f"{cents(cur)} {currency}" in body, team
            assert cents(before) in body, team
            assert f"{cents(cur - before) if cur < before else '+' + cents(cur - before)}" in body, team
            assert service in body and cents(amount) in body, (team, service)
            for other, cost in spent:  # every other currency is named with its total, not added in
                if other != currency:
                    assert f"{cents(cost)} {other}" in body, (team, other)
    # the budget threshold: the first team's budget is 1,000 -> far over 100%
    text, html, _ = parts(by_rcpt[recipient_of(teams, teams[0])])
    assert "OVER BUDGET" in text
    assert re.search(r'<tr class="over" style="background-color: #fed7d7', html)  # the style is inlined
    # the finance overview: unallocated total and shadow AI, from the warehouse
    text, html, _ = parts(by_rcpt["cfo@example.com"])
    (unalloc,) = con.execute("SELECT sum(EffectiveCost) FROM allocated_costs WHERE x_Team = 'unallocated' "
                             "AND billing_period = ? AND BillingCurrency = 'USD'", [period]).fetchone()
    assert f"{cents(unalloc)} USD" in text
    (shadow,) = con.execute("SELECT sum(EffectiveCost) FROM ai_lines WHERE status = 'shadow' AND billing_period = ? "
                            "AND BillingCurrency = 'USD'", [period]).fetchone()
    assert f"shadow {cents(shadow)}" in text and cents(shadow) in html
    for team in teams:
        assert team in text


# The demo's models and their tiers, read by hand from rate_cards/model_prices.csv.
TIERS = {"gpt-4o-mini-2024-07-18": "small", "gpt-4.1-2025-04-14": "mid", "gpt-4o-2024-08-06": "mid",
         "gpt-realtime-2025-08-28": "mid", "o3-mini-2025-01-31": "reasoning", "claude-haiku-4-5-20251001": "small",
         "claude-sonnet-4-5-20250929": "mid", "claude-opus-4-1-20250805": "frontier"}


def gpu_hours_held(usage: Path, period: str) -> dict[str, Decimal]:
    """GPU-hours each team held in the month, read from the cluster's usage file itself:
    max(requested, used) per row, as the pool's method says."""
    out: dict[str, Decimal] = {}
    with open(usage, newline="") as fh:
        for r in csv.DictReader(fh):
            if r["date"].startswith(period):
                held = max(Decimal(r["requested_gpu_hours"]), Decimal(r["used_gpu_hours"]))
                out[r["team"]] = out.get(r["team"], Decimal(0)) + held
    return out


def test_model_api_cost_per_million_tokens_and_gpu_share(demo, sent):
    """Per model: the team's share of the model's cost lines over its share of the token lines,
    per 1M, with the tier; and the team's used GPU-hours of the shared pool."""
    data, con, period, teams = demo
    by_rcpt, *_ = sent
    seen_models = seen_pools = 0
    for team in teams:
        text, html, _ = parts(by_rcpt[recipient_of(teams, team)])
        rows = con.execute(
            "SELECT l.SkuId, sum(a.EffectiveCost), sum(CASE WHEN l.ConsumedUnit = 'Tokens' THEN l.ConsumedQuantity * a.x_Share END) "
            "FROM allocated_costs a JOIN cost_lines l USING (x_LineId) WHERE a.x_Team = ? AND a.billing_period = ? "
            "AND l.x_AiCategory = 'model_api' AND a.BillingCurrency = 'USD' AND l.SkuId IS NOT NULL GROUP BY 1",
            [team, period]).fetchall()
        for model, cost, tokens in rows:
            per_million = cents(cost * 1_000_000 / tokens)
            line = next(x for x in text.splitlines() if x.strip().startswith(model))
            assert TIERS[model] in line and per_million in line and cents(cost) in line, (team, line)
            seen_models += 1
        used = gpu_hours_held(data / "gpu_usage.csv", period).get(team)
        if used is not None:
            hours = f"{used.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):,.1f}"
            assert f"Your team: {hours} used GPU-hours" in text, team
            seen_pools += 1
    assert seen_models >= 5 and seen_pools >= 3


def _own_and_others(con, period, teams):
    """Per team: the strings only other teams have (names, tag values, monthly totals, services'
    amounts), minus anything the team itself legitimately shows."""
    names = set(teams)
    tags: dict[str, set] = {}
    amounts: dict[str, set] = {}
    for team in teams:
        tags[team] = {v for (v,) in con.execute(
            "SELECT DISTINCT t.tag_value FROM alloc_line_tags AS t JOIN allocated_costs AS a USING (x_LineId) "
            "WHERE a.x_Team = ? AND a.billing_period = ?", [team, period]).fetchall()}
        amounts[team] = {cents(v) for (v,) in con.execute(
            "SELECT sum(EffectiveCost) FROM allocated_costs WHERE x_Team = ? AND billing_period <= ? "
            "GROUP BY billing_period, BillingCurrency UNION ALL "
            "SELECT sum(EffectiveCost) FROM allocated_costs WHERE x_Team = ? AND billing_period = ? "
            "GROUP BY ServiceName, BillingCurrency", [team, period, team, period]).fetchall()}
    out = {}
    for team in teams:
        others = [t for t in teams if t != team]
        foreign_tags = set().union(*(tags[t] for t in others)) - tags[team] - names
        # round amounts (a 100.00 seat on a card) coincide between teams by nature: not evidence
        foreign_amounts = {a for t in others for a in amounts[t]
                           if Decimal(a.replace(",", "")) >= 100 and not a.endswith(".00")} - amounts[team]
        out[team] = (set(others), foreign_tags, foreign_amounts)
    return out


def test_a_team_sees_only_its_own_data(demo, sent):
    _, con, period, teams = demo
    by_rcpt, *_ = sent
    checked = 0
    for team, (others, foreign_tags, foreign_amounts) in _own_and_others(con, period, teams).items():
        msg = by_rcpt[recipient_of(teams, team)]
        text, html, _ = parts(msg)
        whole = "\n".join([str(msg["Subject"]), str(msg["To"]), text, htmllib.unescape(html)])
        for other in others:
            assert not re.search(rf"(?<![\w-]){re.escape(other)}(?![\w-])", whole), f"{team}'s e-mail names {other}"
        for value in foreign_tags:
            assert not re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", whole), f"{team}'s e-mail shows tag {value}"
        for amount in foreign_amounts:
            assert not re.search(rf"(?<![\d,.]){re.escape(amount)}(?![\d])", whole), f"{team}'s e-mail shows {amount}"
        checked += len(others) + len(foreign_amounts)
    assert len(teams) >= 8 and checked > 100


def test_hostile_tag_values_are_escaped(demo, tmp_path):
    """A project tag and a team (both tag values) that are markup: escaped in the HTML, kept as
    text in text/plain, and the team's file name stays inside the reports folder."""
    _, _, period, teams = demo
    cfg = org(tmp_path, demo)
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb")) as con:
        con.execute("UPDATE alloc_line_tags SET tag_value = ? WHERE tag_key = 'project' AND tag_value = "
                    "(SELECT min(tag_value) FROM alloc_line_tags WHERE tag_key = 'project')", [SCRIPT])
        for table, col in (("showback", "x_Team"), ("allocated_costs", "x_Team"), ("ai_inventory", "team"),
                           ("gpu_pool_teams", "x_Team")):
            con.execute(f"UPDATE {table} SET {col} = ? WHERE {col} = ?", [f"../{SCRIPT}", teams[-1]])
    run = make_reports(load_config(cfg), period)
    folder = tmp_path / "data" / "reports" / period
    hostile = [n for n in run.written if n.startswith("team-")]
    assert len(hostile) == 1 and (folder / f"{hostile[0]}.eml").exists()
    assert all(p.parent == folder for p in folder.iterdir())
    projects = 0
    for eml in folder.glob("*.eml"):
        msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
        text, html, _ = parts(msg)
        assert "<script" not in html.lower()
        if SCRIPT in text:
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
            projects += 1
    assert projects >= 2  # the hostile team's own report, and teams with the hostile project
    browser = (folder / f"{hostile[0]}.html").read_text()
    assert "<script" not in browser.lower() and "&lt;script&gt;" in browser


def test_failed_send_is_retried_then_reported_others_still_go(demo, tmp_path, smtp_env):
    _, _, period, teams = demo
    with SmtpServer(tmp_path) as server:
        cfg = org(tmp_path, demo, server)
        down, flaky = recipient_of(teams, teams[0]), recipient_of(teams, teams[1])
        server.handler.fail = {down: 99, flaky: 1}
        sender = Sender(load_config(cfg).sections["reports"].smtp, attempts=3, backoff=0.01)
        run = make_reports(load_config(cfg), period, send=True, sender=sender)
        assert len(run.failed) == 1 and run.failed[0].startswith(f"{teams[0]}: ")
        assert "451" in run.failed[0] and "after 3 attempts" in run.failed[0]
        assert PASSWORD not in run.failed[0]
        assert server.handler.attempts[down] == 3 and server.handler.attempts[flaky] == 2
        assert len(server.handler.received) == len(teams)  # every other team and finance
        log = json.loads((tmp_path / "data" / "reports" / period / "sent-log.json").read_text())
        assert teams[0] not in log and log[teams[1]]["attempts"] == 2
        # the CLI reports the failure with a non-zero exit; a second run sends only what failed
        server.handler.fail = {}
        result = CliRunner().invoke(main, ["report", "--period", period, "--send", "--config", str(cfg)])
        assert result.exit_code == 0, result.output
        assert f"sent: {teams[0]}" in result.output and "already sent" in result.output
        assert len(server.handler.received) == len(teams) + 1
        # sending the month again needs --resend
        again = CliRunner().invoke(main, ["report", "--period", period, "--send", "--config", str(cfg)])
        assert "sent:" not in again.output and len(server.handler.received) == len(teams) + 1
        resent = CliRunner().invoke(main, ["report", "--period", period, "--resend", "--config", str(cfg)])
        assert resent.exit_code == 0 and len(server.handler.received) == 2 * (len(teams) + 1)


def test_dry_run_sends_nothing_and_unset_credentials_stop_before_any_work(demo, tmp_path, monkeypatch):
    _, _, period, teams = demo
    with SmtpServer(tmp_path) as server:
        cfg = org(tmp_path, demo, server)
        result = CliRunner().invoke(main, ["report", "--period", period, "--dry-run", "--config", str(cfg)])
        assert result.exit_code == 0 and f"{len(teams) + 1} written" in result.output
        assert server.handler.received == [] and server.handler.attempts == {}
        monkeypatch.delenv("TEST_SMTP_USER", raising=False)
        result = CliRunner().invoke(main, ["report", "--period", period, "--send", "--config", str(cfg)])
        assert result.exit_code == 2 and "TEST_SMTP_USER" in result.output
        assert server.handler.attempts == {}


def test_unreachable_server_fails_every_report_with_exit_1(demo, tmp_path, smtp_env):
    _, _, period, teams = demo
    with SmtpServer(tmp_path) as server:
        cfg = org(tmp_path, demo, server)
    # the server is stopped: connections are refused
    cfg_obj = load_config(cfg)
    run = make_reports(cfg_obj, period, send=True, sender=Sender(cfg_obj.sections["reports"].smtp, backoff=0.01))
    assert len(run.failed) == len(teams) + 1 and run.sent == []
    assert all("ConnectionRefusedError" in f for f in run.failed)
    assert not (tmp_path / "data" / "reports" / period / "sent-log.json").exists()
    assert len(list((tmp_path / "data" / "reports" / period).glob("*.eml"))) == len(teams) + 1


def test_demo_writes_dry_run_reports(demo):
    data, _, period, teams = demo
    folder = data / "reports" / period
    for name in teams + [FINANCE]:
        msg = message_from_bytes((folder / f"{name}.eml").read_bytes(), policy=policy.default)
        text, html, images = parts(msg)
        assert set(cids(html)) == set(images)
        browser = (folder / f"{name}.html").read_text()
        assert "cid:" not in browser and browser.count('src="data:image/png;base64,') == len(images)
    assert not (folder / "sent-log.json").exists()


@pytest.mark.parametrize("section, wrong", [
    ({"smtp": {"hostname": "x"}}, "reports.smtp.hostname"),
    ({"teams": {"search": {"budgte": 5}}}, "reports.teams.search.budgte"),
    ({"team": {}}, "reports.team"),
    ({"teams": {"search": {"recipients": ["not-an-address"]}}}, "reports.teams.search.recipients[0]"),
    ({"schedule_day": 31}, "reports.schedule_day"),
    ({"smtp": {"password_env": "hunter2 is my password"}}, "reports.smtp.password_env"),
])
def test_config_errors_name_the_key(tmp_path, section, wrong):
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(yaml.safe_dump({"reports": section}))
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert f"'{wrong}'" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_credentials_only_from_named_environment_variables(tmp_path, monkeypatch):
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(yaml.safe_dump({"reports": {"smtp": {"username_env": "RPT_USER", "password_env": "RPT_PASS"}}}))
    smtp = load_config(cfg).sections["reports"].smtp
    monkeypatch.delenv("RPT_USER", raising=False)
    with pytest.raises(ConfigError, match="RPT_USER"):
        smtp.credentials()
    monkeypatch.setenv("RPT_USER", "u")
    monkeypatch.setenv("RPT_PASS", "p")
    assert smtp.credentials() == ("u", "p")


def test_bad_period_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["report", "--period", "2026-13", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "2026-13" in result.output
