"""`aispend demo` shows allocation end to end: a shared GPU cluster on p4d/p5 nodes used by three
teams with real idle time, team tags in several spellings, untagged cost, a percentage split,
two cost centers in two business units; and its allocation conserves money exactly."""
from __future__ import annotations

import duckdb
import pytest

from allocation_helpers import assert_conserved


@pytest.fixture(scope="module")
def demo(demo_run):
    data, lines = demo_run
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    yield con, lines
    con.close()


def test_demo_allocation_conserves_every_period_and_currency(demo):
    con, _ = demo
    assert_conserved(con)
    for col in ("BilledCost", "EffectiveCost"):  # and against the published FOCUS data itself
        want = con.execute(f"SELECT billing_period, BillingCurrency, sum({col}) FROM focus_costs GROUP BY ALL ORDER BY ALL").fetchall()
        got = con.execute(f"SELECT billing_period, BillingCurrency, sum({col}) FROM allocated_costs GROUP BY ALL ORDER BY ALL").fetchall()
        assert got == want and {c for _, c, _ in got} == {"USD", "EUR"} and len(got) == 4
    assert con.execute("SELECT count(*), sum(abs(difference)) FROM chargeback_reconciliation").fetchone()[1] == 0


def test_demo_has_a_shared_gpu_cluster_with_idle_time(demo):
    con, _ = demo
    pools = con.execute("SELECT pool, utilization_pct, idle_gpu_hours FROM gpu_pools ORDER BY billing_period").fetchall()
    assert len(pools) == 2 and all(p == "gpu-shared-1" and 40 < u < 95 and idle > 0 for p, u, idle in pools)
    users = con.execute("SELECT billing_period, count(DISTINCT x_Team) FROM gpu_pool_teams WHERE kind = 'usage' "
                        "GROUP BY 1").fetchall()
    assert [n for _, n in users] == [3, 3]
    idle_owner = con.execute("SELECT DISTINCT x_Team FROM gpu_pool_teams WHERE kind = 'idle'").fetchall()
    assert idle_owner == [("ml-platform",)]
    instance_types = con.execute("SELECT DISTINCT l.x_InstanceType FROM alloc_pool_lines p JOIN cost_lines l "
                                 "USING (x_LineId) ORDER BY 1").fetchall()
    assert instance_types == [("p4d.24xlarge",), ("p5.48xlarge",)]


def test_demo_tags_rules_cost_centers_and_unallocated(demo):
    con, lines = demo
    spellings = con.execute("SELECT DISTINCT unnest(json_keys(Tags)) FROM focus_costs").fetchall()
    assert {("team",), ("Team",), ("owner-team",)} <= set(spellings)
    by_spelling = con.execute("""
        SELECT k, count(DISTINCT a.x_Team) FROM (SELECT x_LineId, unnest(json_keys(Tags)) AS k FROM cost_lines) t
        JOIN allocated_costs a USING (x_LineId)
        WHERE k IN ('team', 'Team', 'owner-team') AND a.AllocatedMethodId = 'tag' GROUP BY k""").fetchall()
    assert {k: n for k, n in by_spelling} == {"team": 5, "Team": 5, "owner-team": 5}  # the same 5 teams
    methods = {m for (m,) in con.execute("SELECT DISTINCT AllocatedMethodId FROM allocated_costs").fetchall()}
    assert methods == {"tag", "rule", "split", "pool-proportional", "pool-idle", "unallocated"}
    units = con.execute("SELECT DISTINCT x_BusinessUnit, x_CostCenter FROM chargeback WHERE x_CostCenter <> 'unallocated' "
                        "ORDER BY 1").fetchall()
    assert units == [("G&A", "CC-400"), ("Go-to-Market", "CC-300"), ("Product", "CC-200"), ("Research", "CC-100")]
    unallocated = con.execute("SELECT sum(EffectiveCost) FROM unallocated").fetchone()[0]
    assert unallocated > 0 and any(l.startswith("Unallocated ") for l in lines)
    services = {s for (s,) in con.execute("SELECT DISTINCT ServiceName FROM allocated_costs").fetchall()}
    assert {"Amazon Bedrock", "Amazon SageMaker"} <= services
    assert any("Showback" in l for l in lines)
