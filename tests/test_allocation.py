"""Allocation (sql/allocation/): conservation to the last digit, the GPU-pool worked example
checked by hand, rules in priority order, unallocated cost shown, tag values as data, config
errors that name the key."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
import yaml

from normalizers.errors import BadInputError
from pipelines.config import ConfigError, load_config
from allocation_helpers import assert_conserved, build, totals_by_team

CENT = D("0.01")
DAY = "2026-10-01 00:00:00+00"


def node(hours: str, billed: str, effective: str, **extra) -> dict:
    """A p4d.24xlarge (8 GPUs) line of the shared cluster on 2026-10-01."""
    return {"x_InstanceType": "p4d.24xlarge", "ConsumedQuantity": D(hours), "ConsumedUnit": "Hours",
            "BilledCost": D(billed), "EffectiveCost": D(effective), "start": DAY,
            "Tags": {"gpu-cluster": "gpu-a", "team": "someone-else"}, **extra}


# The worked example. Paid: 2 + 2 + 1 node-hours x 8 GPUs = 40 GPU-hours, costing 1,000.00
# amortized (1,200.00 billed). Used: A 14, B max(requested 8.4, used 6.0) = 8.4, C 5.6: 28
# GPU-hours, so 12 (30%) idle.
#   idle own_line: A = 1000 x 14/40 = 350.00, B = 1000 x 8.4/40 = 210.00, C = 1000 x 5.6/40 = 140.00,
#                  idle (platform team) = 1000 x 12/40 = 300.00; billed: 420, 252, 168, 360
#   idle spread:   A = 1000 x 14/28 = 500.00, B = 300.00, C = 200.00; billed: 600, 360, 240
POOL_LINES = [node("2", "400.00", "333.33"), node("2", "400.00", "333.33"), node("1", "400.00", "333.34")]
USAGE = ("date,team,requested_gpu_hours,used_gpu_hours\n"
         "2026-10-01,Team-A,,14\n2026-10-01, team-b ,8.4,6.0\n2026-10-01,team-c,,5.6\n")


def pool_config(idle: str, method: str = "proportional", **extra) -> dict:
    return {"tags": {"cluster": ["gpu-cluster"]},
            "pools": [{"id": "gpu-a", "match": {"tag": {"cluster": "gpu-a"}}, "usage": "usage.csv",
                       "method": method, "idle": idle, "platform_team": "platform", **extra}]}


@pytest.mark.parametrize("idle, effective, billed", [
    ("own_line", {"team-a": "350.00", "team-b": "210.00", "team-c": "140.00", "platform (idle)": "300.00"},
     {"team-a": "420.00", "team-b": "252.00", "team-c": "168.00", "platform (idle)": "360.00"}),
    ("spread", {"team-a": "500.00", "team-b": "300.00", "team-c": "200.00"},
     {"team-a": "600.00", "team-b": "360.00", "team-c": "240.00"}),
])
def test_gpu_pool_worked_example(tmp_path, idle, effective, billed):
    con = build(tmp_path, POOL_LINES, pool_config(idle), {"usage.csv": USAGE})
    assert totals_by_team(con) == {k: D(v) for k, v in effective.items()}
    assert totals_by_team(con, "BilledCost") == {k: D(v) for k, v in billed.items()}
    assert_conserved(con)
    pool = con.execute("SELECT paid_gpu_hours, used_gpu_hours, idle_gpu_hours, utilization_pct, EffectiveCost, "
                       "cost_per_used_gpu_hour FROM gpu_pools").fetchall()
    assert pool == [(D(40), D(28), D(12), 70.0, D("1000"), D("35.714286"))]  # 1000 / 28
    teams = {r[0]: r[1:] for r in con.execute(
        "SELECT x_Team, kind, gpu_hours, used_share_pct FROM gpu_pool_teams").fetchall()}
    assert teams["team-a"] == ("usage", D(14), 50.0) and teams["team-b"] == ("usage", D("8.4"), 30.0)
    assert ("platform" in teams) == (idle == "own_line")
    methods = {r[0] for r in con.execute("SELECT DISTINCT AllocatedMethodId FROM allocated_costs").fetchall()}
    assert methods == ({"pool-proportional", "pool-idle"} if idle == "own_line" else {"pool-proportional"})


@pytest.mark.parametrize("method, extra, expected", [
    # even: the used 70% (700.00) in three equal parts; idle 300.00
    ("even", {}, {"team-a": "233.33", "team-b": "233.33", "team-c": "233.33", "platform (idle)": "300.00"}),
    # fixed 60/20/20 of the used 700.00; idle 300.00
    ("fixed", {"shares": {"team-a": 60, "team-b": 20, "team-c": 20}},
     {"team-a": "420.00", "team-b": "140.00", "team-c": "140.00", "platform (idle)": "300.00"}),
])
def test_gpu_pool_even_and_fixed(tmp_path, method, extra, expected):
    con = build(tmp_path, POOL_LINES, pool_config("own_line", method, **extra), {"usage.csv": USAGE})
    assert {k: v.quantize(CENT) for k, v in totals_by_team(con).items()} == {k: D(v) for k, v in expected.items()}
    assert_conserved(con)


def test_pool_window_without_usage_goes_to_the_platform_team(tmp_path):
    lines = POOL_LINES + [node("1", "10", "10", start="2026-10-02 05:00:00+00")]  # nobody used it that day
    con = build(tmp_path, lines, pool_config("spread"), {"usage.csv": USAGE})
    day2 = totals_by_team(con, where="x_LineId = 4")
    assert day2 == {"platform (idle)": D(10)}
    assert_conserved(con)


RULES = {
    "tags": {"team": ["team", "owner-team"]},
    "teams": {"ml": {"cost_center": "CC-1"}, "web": {"cost_center": "CC-2"}},
    "cost_centers": {"CC-1": {"business_unit": "Research"}, "CC-2": {"business_unit": "Product"}},
    "rules": [
        {"id": "team-tag", "team_from_tag": "team"},
        {"id": "data-account", "match": {"account": "acct-data"}, "team": "data"},
        {"id": "support", "match": {"service": ["AWS Support (Business)"]}, "split": {"ml": 50, "web": 25, "data": 25}},
        {"id": "bedrock-prod", "match": {"service": "Amazon Bedrock", "tag": {"env": ["prod", "production"]}},
         "team": "web"},
    ],
}


def test_rules_first_match_wins_and_unallocated_is_shown(tmp_path):
    lines = [
        {"BilledCost": D("10"), "Tags": {"Team": " ML "}, "SubAccountId": "acct-data"},  # tag first
        {"BilledCost": D("20"), "Tags": {"owner-team": "Web"}},
        {"BilledCost": D("30"), "SubAccountId": "acct-data"},                           # account
        {"BilledCost": D("-0.000000000003"), "ServiceName": "AWS Support (Business)"},  # split, credit
        {"BilledCost": D("40"), "ServiceName": "Amazon Bedrock", "Tags": {"env": "Prod"}},  # both conditions
        {"BilledCost": D("50"), "ServiceName": "Amazon Bedrock", "Tags": {"env": "dev"}},   # one of two: no
        {"BilledCost": D("60")},                                                         # untagged
        {"BilledCost": D("7.5"), "BillingCurrency": "EUR", "period": "2026-09"},         # untagged
    ]
    con = build(tmp_path, lines, RULES)
    got = dict(con.execute("SELECT x_LineId, list(x_Team || ':' || BilledCost::VARCHAR ORDER BY x_Team) "
                           "FROM allocated_costs GROUP BY 1").fetchall())
    ids = dict(con.execute("SELECT x_SourceRow, x_LineId FROM cost_lines").fetchall())
    assert got[ids[1]] == ["ml:10.000000000000"] and got[ids[2]] == ["web:20.000000000000"]
    assert got[ids[3]] == ["data:30.000000000000"]
    # 3 units of 1e-12 at 50/25/25: floors 1, 0, 0; the two leftover units go to the largest
    # remainders (0.75 each, data and web), ml's 0.5 gets none: -1e-12 each.
    assert got[ids[4]] == ["data:-0.000000000001", "ml:-0.000000000001", "web:-0.000000000001"]
    assert got[ids[5]] == ["web:40.000000000000"]
    assert got[ids[6]] == ["unallocated:50.000000000000"] and got[ids[7]] == ["unallocated:60.000000000000"]
    assert got[ids[8]] == ["unallocated:7.500000000000"]
    unalloc = con.execute("SELECT billing_period, BillingCurrency, sum(BilledCost), sum(lines) FROM unallocated "
                          "GROUP BY ALL ORDER BY ALL").fetchall()
    assert unalloc == [("2026-09", "EUR", D("7.5"), 1), ("2026-10", "USD", D("110"), 2)]
    ccs = dict(con.execute("SELECT x_Team, any_value(x_CostCenter || '/' || x_BusinessUnit) FROM allocated_costs "
                           "GROUP BY 1").fetchall())
    assert ccs == {"ml": "CC-1/Research", "web": "CC-2/Product", "data": "unallocated/unallocated",
                   "unallocated": "unallocated/unallocated"}
    rec = con.execute("SELECT count(*), sum(abs(difference)) FROM chargeback_reconciliation").fetchone()
    assert rec == (2, 0)
    assert_conserved(con)


def test_unallocated_lines_one_by_one(tmp_path):
    lines = [{"BilledCost": D("50"), "ServiceName": "Amazon Bedrock", "Tags": {"env": "dev"}},
             {"BilledCost": D("60")}]
    con = build(tmp_path, lines, RULES)
    rows = con.execute("SELECT x_Team, AllocatedMethodId, x_RuleId, BilledCost FROM allocated_costs ORDER BY BilledCost").fetchall()
    assert rows == [("unallocated", "unallocated", None, D(50)), ("unallocated", "unallocated", None, D(60))]


HOSTILE = ["x'); DROP TABLE cost_lines; --", 'a"b;c', "Robert'); DELETE FROM alloc_owners;--", "${focus_glob}"]


def test_tag_and_config_values_are_data(tmp_path):
    lines = [{"BilledCost": D(i + 1), "Tags": {"team": v}} for i, v in enumerate(HOSTILE)]
    lines.append({"BilledCost": D("5"), "ServiceName": HOSTILE[2]})
    cfg = {"rules": [{"id": "team-tag", "team_from_tag": "team"},
                     {"id": HOSTILE[1], "match": {"service": HOSTILE[2]}, "split": {HOSTILE[0]: 60, HOSTILE[3]: 40}}]}
    con = build(tmp_path, lines, cfg)
    teams = totals_by_team(con, "BilledCost")
    norm = lambda v: " ".join(v.split()).lower()  # noqa: E731 - the documented normalization
    assert teams == {norm(HOSTILE[0]): D(1) + D(3), norm(HOSTILE[1]): D(2), norm(HOSTILE[2]): D(3),
                     norm(HOSTILE[3]): D(4) + D(2)}
    assert con.execute("SELECT x_RuleId FROM allocated_costs WHERE AllocatedMethodId = 'split' LIMIT 1").fetchone() == (HOSTILE[1],)
    assert con.execute("SELECT count(*) FROM cost_lines").fetchone() == (5,)
    assert con.execute("SELECT count(*) FROM alloc_owners").fetchone() == (2,)
    assert_conserved(con)


def test_usage_file_outside_the_data_and_config_folders_is_refused(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "usage.csv").write_text(USAGE)
    cfg = pool_config("own_line")
    cfg["pools"][0]["usage"] = "../elsewhere/usage.csv"
    with pytest.raises(ConfigError, match=r"allocation.pools\[0\].usage: .* is outside"):
        build(tmp_path / "org", POOL_LINES, cfg)


@pytest.mark.parametrize("usage, where", [
    ("date,team,gpu_hours\n2026-10-01,a,1\n2026-10-01,b,lots\n", "usage.csv, row 2, column gpu_hours: 'lots' is not a number"),
    ("date,team,gpu_hours\n2026-10-01,a,-1\n", "usage.csv, row 1, column gpu_hours: '-1': GPU-hours must be a non-negative"),
    ("day,team,gpu_hours\n2026-10-01,a,1\n", "usage.csv: a GPU usage file needs columns team (or namespace), date (or hour)"),
    ("date,team,gpu_hours\n10/01/2026,a,1\n", "usage.csv, row 1, column date: '10/01/2026' is not a date"),
])
def test_bad_usage_file_names_file_row_and_column(tmp_path, usage, where):
    with pytest.raises(BadInputError) as err:
        build(tmp_path, POOL_LINES, pool_config("own_line"), {"usage.csv": usage})
    assert where in str(err.value)


def test_usage_in_parquet_by_hour_and_namespace(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import datetime as dt
    at = dt.datetime(2026, 10, 1, 7, tzinfo=dt.timezone.utc)
    pq.write_table(pa.table({"hour": [at, at], "namespace": ["ns-a", "ns-b"], "gpu_hours": [1.5, 0.5]}),
                   tmp_path / "usage.parquet")
    lines = [node("0.25", "100", "100", start="2026-10-01 07:00:00+00")]  # 2 paid GPU-hours, all used
    cfg = pool_config("own_line", window="hour", namespaces={"ns-a": "team-a", "ns-b": "team-b"})
    cfg["pools"][0]["usage"] = "usage.parquet"
    con = build(tmp_path, lines, cfg)
    assert totals_by_team(con) == {"team-a": D(75), "team-b": D(25)}


@pytest.mark.parametrize("section, message", [
    ({"rules": [{"id": "a", "team": "x"}, {"id": "b", "match": {"tga": "x"}, "team": "y"}]},
     "allocation.rules[1].match.tga: unknown key"),
    ({"rules": [{"id": "a", "match": {"tag": {"colour": "red"}}, "team": "x"}]},
     "allocation.rules[0].match.tag.colour: not a canonical tag key"),
    ({"rules": [{"id": "a", "split": {"x": 60, "y": 30}}]}, "allocation.rules[0].split: percentages sum to 90, not 100"),
    ({"rules": [{"id": "a", "split": {"x": "half", "y": 50}}]}, "allocation.rules[0].split.x: 'half' is not a number"),
    ({"rules": [{"id": "a", "team": "x", "split": {"x": 100}}]}, "allocation.rules[0]: needs exactly one of"),
    ({"rules": [{"id": "a", "team": ["x", "y"]}]}, "allocation.rules[0].team: must be non-empty text"),
    ({"rules": [{"team": "x"}]}, "allocation.rules[0].id: is required"),
    ({"rules": {"id": "a"}}, "allocation.rules: must be a list"),
    ({"teams": {"x": {"cost_center": "CC-9"}}}, "allocation.teams.x.cost_center: 'CC-9' is not in allocation.cost_centers"),
    ({"teams": {"x": {"costcenter": "CC-9"}}}, "allocation.teams.x.costcenter: unknown key"),
    ({"pools": [{"id": "p", "match": {"instance_type": "p5.48xlarge"}, "platform_team": "t", "method": "weird",
                 "usage": "u.csv"}]}, "allocation.pools[0].method: 'weird' is not one of"),
    ({"pools": [{"id": "p", "match": {"instance_type": "p5.48xlarge"}, "platform_team": "t"}]},
     "allocation.pools[0].usage: is required for method proportional"),
    ({"pools": [{"id": "p", "match": {}, "platform_team": "t", "usage": "u.csv"}]}, "allocation.pools[0].match: must name"),
    ({"pools": [{"id": "p", "match": {"account": "1"}, "platform_team": "t", "usage": "u.csv", "idle": "keep"}]},
     "allocation.pools[0].idle: 'keep' is not one of: own_line, spread"),
    ({"tags": {"team": ["team"], "owner": ["team"]}}, "allocation.tags.owner: tag key 'team' is already an alias"),
    ({"rulez": []}, "allocation.rulez: unknown key"),
])
def test_config_errors_name_the_key(tmp_path, section, message):
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(yaml.safe_dump({"allocation": section}))
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert message in str(err.value) and str(cfg) in str(err.value)


def test_no_allocation_section_allocates_by_the_team_tag(tmp_path):
    lines = [{"BilledCost": D(1), "Tags": {"owner-team": "Web"}}, {"BilledCost": D(2)}]
    con = build(tmp_path, lines, None)
    assert totals_by_team(con, "BilledCost") == {"web": D(1), "unallocated": D(2)}


def test_gpu_counts_from_the_rate_card_over_the_built_ins(tmp_path):
    from pipelines.allocation import gpu_instances
    (tmp_path / "gpu_instances.csv").write_text(
        "provider,instance_type,gpu_model,gpu_count,on_demand_hourly_usd\n"
        "AWS,p5.48xlarge,H100,8,98.32\nAWS,g7.test,L40S,3,1.0\n")
    counts = gpu_instances(tmp_path)
    assert counts["g7.test"] == 3 and counts["p5.48xlarge"] == 8 and counts["p4d.24xlarge"] == 8
    (tmp_path / "gpu_instances.csv").write_text("instance_type,gpu_count\ng6f.xlarge,0.125\n")
    assert gpu_instances(tmp_path)["g6f.xlarge"] == D("0.125")
    assert "g7.test" not in gpu_instances(tmp_path / "missing")


def test_cli_config_error_is_one_line_naming_the_key(tmp_path):
    from click.testing import CliRunner
    from pipelines.cli import main
    cfg = tmp_path / "aispend.yaml"
    cfg.write_text(yaml.safe_dump({"allocation": {"rules": [{"id": "a", "match": {"tag": {"team": 5.5}}, "team": "x"}]}}))
    result = CliRunner().invoke(main, ["run", "--config", str(cfg)])
    assert result.exit_code != 0
    errors = [l for l in result.stderr.splitlines() if l.startswith("aispend: error:")]
    assert len(errors) == 1 and "allocation.rules[0].match.tag.team: must be non-empty text" in errors[0]


def test_a_monthly_charge_in_a_daily_pool_is_shared_by_the_month(tmp_path):
    # Day 1: 10 GPU-hours paid, all used by A; day 2: 10 paid, all used by B. A monthly fee of
    # 100 (its charge period is the month) is shared by the month's use: A 50, B 50 (not all to
    # A, whose day it starts on). No idle.
    lines = [node("1.25", "10", "10"), node("1.25", "10", "10", start="2026-10-02 00:00:00+00"),
             node("0", "100", "100", ChargeCategory="Purchase", ConsumedQuantity=None,
                  end="2026-11-01 00:00:00+00")]
    usage = "date,team,gpu_hours\n2026-10-01,a,10\n2026-10-02,b,10\n"
    con = build(tmp_path, lines, pool_config("own_line"), {"usage.csv": usage})
    assert totals_by_team(con) == {"a": D(60), "b": D(60)}
    fee = con.execute("SELECT window_unit FROM alloc_pool_lines WHERE paid_gpu_hours = 0").fetchall()
    assert fee == [("month",)]
    assert con.execute("SELECT paid_gpu_hours, used_gpu_hours, idle_gpu_hours FROM gpu_pools").fetchall() == [(20, 20, 0)]


def test_gcp_labels_and_azure_tags_map_to_the_same_keys(tmp_path):
    cfg = {"tags": {"team": ["team", "owner-team"], "env": ["env", "environment"]},
           "rules": [{"id": "prod-web", "match": {"tag": {"env": "production"}}, "team": "web"},
                     {"id": "team-tag", "team_from_tag": "team"}]}
    lines = [{"ProviderName": "Google Cloud", "BilledCost": D(1), "Tags": {"team": "search", "goog-k8s-cluster-name": "c"}},
             {"ProviderName": "Microsoft", "BilledCost": D(2), "Tags": {"Owner-Team": "SEARCH"}},
             {"ProviderName": "Microsoft", "BilledCost": D(4), "Tags": {"Environment": " Production ", "Team": "ads"}}]
    con = build(tmp_path, lines, cfg)
    assert totals_by_team(con, "BilledCost") == {"search": D(3), "web": D(4)}
    assert_conserved(con)
