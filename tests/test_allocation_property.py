"""Property: whatever the cost lines, rules, pools and usage, allocation conserves money exactly,
per billing period and currency and per line, for BilledCost and EffectiveCost; every
allocation keeps its line's sign (no team is charged a credit's opposite)."""
from __future__ import annotations

import tempfile
from decimal import Decimal as D
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocation_helpers import assert_conserved, build

TEAMS = ["a", "b", "c", " D ", "platform"]
# up to 1e8 in magnitude with all 12 decimals
money = st.integers(-10**20, 10**20).map(lambda units: D(units).scaleb(-12))
hours = st.integers(0, 3_000_000).map(lambda n: D(n).scaleb(-6))


@st.composite
def lines(draw):
    period = draw(st.sampled_from(["2026-09", "2026-10"]))
    tags = draw(st.dictionaries(st.sampled_from(["team", "Team", "owner-team", "gpu-cluster", "env"]),
                                st.sampled_from(TEAMS + ["pool-0", "pool-1", "prod"]), max_size=3))
    day, hour = draw(st.integers(1, 3)), draw(st.integers(0, 23))
    # hourly, daily and monthly charge periods
    end = draw(st.sampled_from([f"{period}-{day:02d} {hour:02d}:59:00+00", f"{period}-{day:02d} 23:59:59+00",
                                f"{period}-28 00:00:00+00"]))
    return {"period": period, "start": f"{period}-{day:02d} {hour:02d}:00:00+00", "end": end,
            "BillingCurrency": draw(st.sampled_from(["USD", "EUR"])),
            "ProviderName": draw(st.sampled_from(["AWS", "Microsoft"])),
            "BilledCost": draw(money), "EffectiveCost": draw(money),
            "SubAccountId": draw(st.sampled_from(["acct-1", "acct-2", "acct-3"])),
            "ServiceName": draw(st.sampled_from(["EC2", "Support", "Bedrock"])),
            "x_InstanceType": draw(st.sampled_from([None, "p4d.24xlarge", "p5.48xlarge", "m5.xlarge"])),
            "ConsumedQuantity": draw(st.one_of(st.none(), hours)), "ConsumedUnit": "Hours",
            "ChargeCategory": draw(st.sampled_from(["Usage", "Usage", "Tax", "Credit"])),
            "Tags": tags or None}


@st.composite
def percentages(draw):
    teams = draw(st.lists(st.sampled_from(TEAMS), min_size=1, max_size=4, unique_by=lambda t: t.strip().lower()))
    cuts = sorted(draw(st.lists(st.integers(1, 999_999), min_size=len(teams) - 1, max_size=len(teams) - 1, unique=True)))
    bounds = [0, *cuts, 1_000_000]
    return {t: str(D(bounds[i + 1] - bounds[i]).scaleb(-4)) for i, t in enumerate(teams)}


@st.composite
def rules(draw):
    out = []
    for i, kind in enumerate(draw(st.lists(st.sampled_from(["tag", "account", "service", "catch-all"]), max_size=4))):
        rule = {"id": f"r{i}"}
        if kind == "tag":
            rule["team_from_tag"] = "team"
        elif kind == "account":
            rule |= {"match": {"account": draw(st.sampled_from(["acct-1", "acct-2"]))}, "team": draw(st.sampled_from(TEAMS))}
        elif kind == "service":
            rule |= {"match": {"service": ["Support", "Bedrock"], "tag": {"env": "*"}}, "split": draw(percentages())}
        else:
            rule["split"] = draw(percentages())
        out.append(rule)
    return out


@st.composite
def pools(draw):
    out, files = [], {}
    for i in range(draw(st.integers(0, 2))):
        method = draw(st.sampled_from(["proportional", "even", "fixed"]))
        pool = {"id": f"pool-{i}", "match": {"tag": {"cluster": f"pool-{i}"}}, "method": method,
                "idle": draw(st.sampled_from(["own_line", "spread"])), "platform_team": "platform",
                "window": draw(st.sampled_from(["hour", "day", "month"]))}
        if method == "fixed":
            pool["shares"] = draw(percentages())
        if method != "fixed" or draw(st.booleans()):
            rows = draw(st.lists(st.tuples(st.sampled_from(["2026-09", "2026-10"]), st.integers(1, 3), st.integers(0, 23),
                                           st.sampled_from(TEAMS), st.one_of(st.none(), hours), hours), max_size=12))
            files[f"usage-{i}.csv"] = "hour,team,requested_gpu_hours,used_gpu_hours\n" + "".join(
                f"{p}-{d:02d}T{h:02d}:30:00,{t},{'' if r is None else r},{u}\n" for p, d, h, t, r, u in rows)
            pool["usage"] = f"usage-{i}.csv"
        out.append(pool)
    return out, files


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines(), min_size=1, max_size=25), rules(), pools())
def test_allocation_conserves_money(cost_lines, rule_list, pool_spec):
    pool_list, files = pool_spec
    config = {"tags": {"team": ["team", "owner-team"], "cluster": ["gpu-cluster"]},
              "rules": rule_list, "pools": pool_list}
    with tempfile.TemporaryDirectory() as tmp:
        con = build(Path(tmp), cost_lines, config, files)
        try:
            assert_conserved(con)
            wrong_sign = con.execute("""
                SELECT count(*) FROM allocated_costs a JOIN cost_lines l USING (x_LineId)
                WHERE sign(a.BilledCost) * sign(l.BilledCost) < 0 OR sign(a.EffectiveCost) * sign(l.EffectiveCost) < 0
                   OR a.x_Team IS NULL OR a.x_Share NOT BETWEEN 0 AND 1""").fetchone()[0]
            assert wrong_sign == 0
            # every line a pool claims is allocated by that pool
            assert con.execute("""SELECT count(*) FROM alloc_pool_lines p JOIN allocated_costs a USING (x_LineId)
                                  WHERE a.AllocatedMethodId NOT LIKE 'pool-%'""").fetchone()[0] == 0
        finally:
            con.close()
