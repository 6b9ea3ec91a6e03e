"""Issue 4 on the demo data: ai_inventory lists every AI vendor present in the demo's inputs and no
non-AI merchant; approved tools are 'approved' and every other AI line 'shadow'. Expectations are
worked out by hand from the generators' definitions and pipelines/demo_config.yaml."""
from __future__ import annotations

import duckdb
import pytest

from pipelines.generators.expenses import AI_SUBSCRIPTIONS, CARD_SPEND, TRAVEL

# (tool, source, status): what the demo's inputs hold, and why.
EXPECTED = {
    # the CUR: GPU instances (p4d/p5/g5) and Bedrock approved under the EDP; SageMaker not approved
    ("GPU instances", "cloud", "approved"), ("Amazon Bedrock", "cloud", "approved"),
    ("Amazon SageMaker", "cloud", "shadow"),
    # the vendors' Admin API exports: both APIs approved
    ("OpenAI API", "invoice", "approved"), ("Anthropic API", "invoice", "approved"),
    # AI invoices: Copilot (GitHub's bill names it), Cursor (seats owned by ml-research, where it is
    # approved), ChatGPT Team approved; Perplexity and Mistral are not
    ("GitHub Copilot", "invoice", "approved"), ("Cursor", "invoice", "approved"),
    ("ChatGPT", "invoice", "approved"), ("Perplexity", "invoice", "shadow"), ("Mistral AI", "invoice", "shadow"),
    # card subscriptions (AI_SUBSCRIPTIONS): ChatGPT and Copilot approved; Claude, Midjourney and
    # Perplexity not; Cursor bought by Engineering (team search), approved only for ml-research
    ("ChatGPT", "expense", "approved"), ("GitHub Copilot", "expense", "approved"),
    ("Claude", "expense", "shadow"), ("Midjourney", "expense", "shadow"), ("Perplexity", "expense", "shadow"),
    ("Cursor", "expense", "shadow"),
}


@pytest.fixture(scope="module")
def warehouse(demo_run):
    data, _ = demo_run
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


def test_every_ai_tool_of_the_inputs_is_listed_with_its_status(warehouse):
    for period in ("first", "last"):
        order = "ASC" if period == "first" else "DESC"
        (month,) = warehouse.execute(f"SELECT DISTINCT billing_period FROM ai_inventory ORDER BY 1 {order} LIMIT 1").fetchone()
        got = set(warehouse.execute("SELECT DISTINCT tool, source, status FROM ai_inventory WHERE billing_period = ?",
                                    [month]).fetchall())
        assert got == EXPECTED, month


def test_no_ordinary_merchant_is_ai(warehouse):
    ordinary = {m for m, *_ in CARD_SPEND} | {m for m, *_ in TRAVEL}
    ai_merchants = set(warehouse.execute("SELECT DISTINCT ProviderName FROM cost_lines WHERE x_Source = 'expenses' "
                                         "AND x_AiCategory <> 'none'").fetchall())
    assert {m for (m,) in ai_merchants} == {m for m, *_ in AI_SUBSCRIPTIONS}
    none = {m for (m,) in warehouse.execute("SELECT DISTINCT ProviderName FROM cost_lines WHERE x_Source = 'expenses' "
                                            "AND x_AiCategory = 'none'").fetchall()}
    assert ordinary <= none  # every ordinary merchant appears, and none of them is AI
    assert not ordinary & {t for t, _, _ in EXPECTED}


def test_expense_users_are_the_employees_who_bought(warehouse):
    # AI_SUBSCRIPTIONS: employees buying each tool on company cards every month; the first two
    # (ChatGPT, Claude) are also reimbursed once on an expense report, maybe to another employee.
    cards = {"ChatGPT": 6, "Claude": 4, "Cursor": 5, "GitHub Copilot": 2, "Midjourney": 2, "Perplexity": 2}
    reimbursed = {"ChatGPT", "Claude"}
    got = dict(warehouse.execute("SELECT tool, sum(users) FROM ai_inventory WHERE source = 'expense' AND billing_period = "
                                 "(SELECT max(billing_period) FROM ai_inventory) GROUP BY 1").fetchall())
    assert set(got) == set(cards)
    for tool, n in cards.items():
        assert n <= got[tool] <= n + (tool in reimbursed), tool


def test_inventory_money_is_the_ai_lines_money(warehouse):
    inv = warehouse.execute("SELECT billing_period, BillingCurrency, sum(EffectiveCost) FROM ai_inventory "
                            "GROUP BY ALL ORDER BY ALL").fetchall()
    lines = warehouse.execute("SELECT billing_period, BillingCurrency, sum(EffectiveCost) FROM cost_lines "
                              "WHERE x_AiCategory <> 'none' GROUP BY ALL ORDER BY ALL").fetchall()
    assert inv == lines and len(inv) == 4


def test_rebuilding_the_warehouse_changes_nothing(demo_run, tmp_path):
    """Re-running a night changes nothing: the same published data gives the same line numbers,
    classification, allocation and inventory (ties between lines of one source row included)."""
    import shutil

    from pipelines import warehouse as wh
    from pipelines.config import load_config
    from pipelines.storage import DataRoot

    data, _ = demo_run
    copy = tmp_path / "data"
    shutil.copytree(data, copy, ignore=shutil.ignore_patterns("inbox", "landing", "reports"))
    tables = ("cost_lines", "allocated_costs", "ai_inventory")

    def snapshot():
        con = duckdb.connect(str(copy / "warehouse.duckdb"), read_only=True)
        out = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}
        con.close()
        return out

    config = load_config(copy / "aispend.yaml")
    wh.refresh(DataRoot(copy), config)
    first = snapshot()
    wh.refresh(DataRoot(copy), config)
    assert snapshot() == first and all(first[t] for t in tables)
