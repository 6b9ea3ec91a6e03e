"""The AI inventory and baseline (sql/inventory/): a small organisation's month of cloud, vendor
and expense lines, an approved_tools list in the config, and every inventory row worked out by
hand: the AI vendors present and no other merchant, approved exactly where an entry covers a
line and shadow everywhere else, users, first and last seen, and the baseline sums.

allocated_costs is the real allocation model: each line goes to its team tag, and the config maps
teams to cost centers and business units."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from focus_rows import build, write_focus
from pipelines.config import ConfigError, load_config

D = Decimal
Q = """Acme '"; DROP TABLE ai_inventory; -- Labs"""
BU = {"ml-research": "Research", "search": "Product", "ads": "Product", "ml-platform": "Platform",
      "data-eng": "Platform"}


def tags(team, project=None):
    t = {"team": team, "business_unit": BU[team], "cost_center": "cc-" + team}
    return json.dumps(t | ({"project": project} if project else {}))


def expense(descriptor, merchant, cost, employee, team, day=0):
    return {"ProviderName": merchant, "PublisherName": merchant, "InvoiceIssuerName": "Ramp", "day": day,
            "x_MerchantDescriptor": descriptor, "x_Employee": employee, "BilledCost": cost, "Tags": tags(team)}


APPROVED = [
    {"vendor": "OpenAI", "product": "ChatGPT", "owner": "it@example.com", "contract": "MSA-1", "budget": 5000},
    {"vendor": "AWS", "product": "Amazon Bedrock", "owner": "platform@example.com", "purchase_order": "PO-7",
     "budget": "1000.50"},
    {"product": "Cursor", "team": "ml-research", "owner": "dev@example.com", "contract": "C-9", "budget": 600},
    {"vendor": Q, "owner": "data@example.com", "contract": "Q-1", "budget": 10, "currency": "USD"},
    {"vendor": "Midjourney", "owner": "design@example.com", "contract": "M-1", "budget": 30},  # no spend
]


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    root = tmp_path_factory.mktemp("inventory")
    ec2, bedrock = "Amazon Elastic Compute Cloud", "Amazon Bedrock"
    write_focus(root, "AWS", "2026-10", "aws-cur", [
        {"ServiceName": bedrock, "ServiceCategory": "AI and Machine Learning", "BilledCost": "100.00",
         "Tags": tags("ml-research", "llm-assistant")},
        {"ServiceName": bedrock, "ServiceCategory": "AI and Machine Learning", "BilledCost": "50.00", "Tags": tags("search")},
        {"ServiceName": ec2, "x_InstanceType": "p4d.24xlarge", "BilledCost": "300.00",
         "Tags": tags("ml-research", "llm-assistant")},
        {"ServiceName": ec2, "x_InstanceType": "m5.xlarge", "BilledCost": "10.00", "Tags": tags("ads")},
    ])
    write_focus(root, "Invoices", "2026-10", "invoices", [
        {"ProviderName": "OpenAI LLC", "ServiceCategory": "AI and Machine Learning",
         "ChargeDescription": "ChatGPT Enterprise - 50 seats", "BilledCost": "3000", "Tags": tags("ml-platform")},
        {"ProviderName": "Cursor", "ServiceCategory": "AI and Machine Learning",
         "ChargeDescription": "Cursor Business, 12 seats", "BilledCost": "480", "Tags": tags("ml-research")},
        {"ProviderName": Q, "ServiceCategory": "AI and Machine Learning", "ChargeDescription": "Labeling",
         "BilledCost": "10.01", "Tags": tags("data-eng")},
    ])
    write_focus(root, "OpenAI", "2026-10", "openai", [
        {"ServiceName": "OpenAI API", "ServiceCategory": "AI and Machine Learning", "SkuId": "gpt-4o",
         "BilledCost": "200", "Tags": tags("ml-research", "recsys")},
    ])
    write_focus(root, "Expenses", "2026-10", "expenses", [
        expense("OPENAI *CHATGPT SUBSCR", "OpenAI", "20", "alice", "ads", day=1),
        expense("OPENAI *CHATGPT SUBSCR", "OpenAI", "20", "bob", "ads", day=2),
        expense("OPENAI *CHATGPT SUBSCR", "OpenAI", "20", "alice", "ads", day=14),
        expense("ANTHROPIC* CLAUDE S", "Anthropic", "18", "carol", "ads", day=4),
        expense("CURSOR USAGE", "Cursor", "40", "dave", "ads", day=5),
        expense("UNITED AIRLINES 0162", "United Airlines", "412.30", "erin", "search"),
        expense("OPENTABLE*REST", "OpenTable", "85", "erin", "search"),
        expense("ANTHROPOLOGIE #0123", "Anthropologie", "120", "frank", "ads"),
    ])
    write_focus(root, "Expenses", "2026-11", "expenses", [
        expense("Anthropic* Claude Sub", "Anthropic", "18", "carol", "ads", day=2),
    ])
    config_path = root / "aispend.yaml"
    # team -> cost center -> business unit, as the allocation config states it
    allocation = {"teams": {t: {"cost_center": "cc-" + t} for t in BU},
                  "cost_centers": {"cc-" + t: {"business_unit": bu} for t, bu in BU.items()}}
    config_path.write_text(yaml.safe_dump({"data_dir": ".", "approved_tools": APPROVED, "allocation": allocation}))
    con = build(root, load_config(config_path))
    yield con
    con.close()


# (tool, vendor, team, source, category, status, owner, EffectiveCost, users), worked out by hand
OCTOBER = {
    ("Amazon Bedrock", "AWS", "ml-research", "cloud", "managed_ai", "approved", "platform@example.com", D("100"), None),
    ("Amazon Bedrock", "AWS", "search", "cloud", "managed_ai", "approved", "platform@example.com", D("50"), None),
    ("GPU instances", "AWS", "ml-research", "cloud", "gpu_compute", "shadow", None, D("300"), None),
    ("ChatGPT", "OpenAI", "ml-platform", "invoice", "ai_saas", "approved", "it@example.com", D("3000"), None),
    ("Cursor", "Cursor", "ml-research", "invoice", "ai_saas", "approved", "dev@example.com", D("480"), None),
    (Q, Q, "data-eng", "invoice", "ai_saas", "approved", "data@example.com", D("10.01"), None),
    ("OpenAI API", "OpenAI", "ml-research", "invoice", "model_api", "shadow", None, D("200"), None),  # not ChatGPT
    ("ChatGPT", "OpenAI", "ads", "expense", "ai_saas", "approved", "it@example.com", D("60"), 2),
    ("Claude", "Anthropic", "ads", "expense", "ai_saas", "shadow", None, D("18"), 1),
    ("Cursor", "Cursor", "ads", "expense", "ai_saas", "shadow", None, D("40"), 1),  # approved for ml-research only
}


def inventory(con, period):
    return set(con.execute(
        "SELECT tool, vendor, team, source, category, status, owner, EffectiveCost, users FROM ai_inventory "
        "WHERE billing_period = ? AND BillingCurrency = 'USD'", [period]).fetchall())


def test_inventory_rows_are_the_hand_worked_ones(org):
    assert inventory(org, "2026-10") == OCTOBER
    assert inventory(org, "2026-11") == {
        ("Claude", "Anthropic", "ads", "expense", "ai_saas", "shadow", None, D("18"), 1)}


def test_every_ai_vendor_present_is_listed_and_no_other_merchant(org):
    vendors = {v for (v,) in org.execute("SELECT DISTINCT vendor FROM ai_inventory").fetchall()}
    assert vendors == {"AWS", "OpenAI", "Cursor", "Anthropic", Q}
    names = {n for (n,) in org.execute("SELECT DISTINCT tool FROM ai_inventory UNION SELECT DISTINCT vendor "
                                        "FROM ai_inventory").fetchall()}
    assert not names & {"United Airlines", "OpenTable", "Anthropologie", "Midjourney"}


def test_approved_exactly_where_an_entry_covers_the_line_shadow_everywhere_else(org):
    rows = org.execute("SELECT x_AiVendor, tool, x_Team, status, approved_entry FROM ai_lines").fetchall()
    # by hand: which entry (index in APPROVED) covers (vendor, tool, team)
    covering = {("OpenAI", "ChatGPT", "ml-platform"): 0, ("OpenAI", "ChatGPT", "ads"): 0,
                ("AWS", "Amazon Bedrock", "ml-research"): 1, ("AWS", "Amazon Bedrock", "search"): 1,
                ("Cursor", "Cursor", "ml-research"): 2, (Q, Q, "data-eng"): 3}
    for vendor, tool, team, status, entry in rows:
        expected = covering.get((vendor, tool, team))
        assert (status, entry) == (("approved", expected) if expected is not None else ("shadow", None)), (vendor, tool, team)
    assert {s for *_, s, _ in rows} == {"approved", "shadow"}


def test_contract_budget_and_seen_dates(org):
    row = org.execute("SELECT contract, purchase_order, budget, budget_currency, cost_lines FROM ai_inventory "
                      "WHERE tool = 'Amazon Bedrock' AND team = 'search'").fetchone()
    assert row == (None, "PO-7", D("1000.50"), "USD", 1)
    seen = org.execute("SELECT billing_period, first_seen, last_seen FROM ai_inventory WHERE tool = 'Claude' "
                       "ORDER BY billing_period").fetchall()
    utc = dt.timezone.utc
    first, last = dt.datetime(2026, 10, 5, tzinfo=utc), dt.datetime(2026, 11, 4, tzinfo=utc)
    assert [(p, f.astimezone(utc), la.astimezone(utc)) for p, f, la in seen] == [
        ("2026-10", first, last), ("2026-11", first, last)]


def test_baseline_totals_categories_and_shadow_share(org):
    cols = ("ai_effective_cost, gpu_compute, managed_ai, model_api, ai_saas, approved_cost, shadow_cost, "
            "shadow_share, tools, shadow_tools, tools_without_owner")
    row = org.execute(f"SELECT {cols} FROM ai_baseline WHERE billing_period = '2026-10' "
                      f"AND BillingCurrency = 'USD'").fetchone()
    total = D("4258.01")  # 100 + 50 + 300 + 3000 + 480 + 10.01 + 200 + 60 + 18 + 40
    assert row == (total, D("300"), D("150"), D("200"), D("3608.01"), D("3700.01"), D("558"),
                   round(558 / 4258.01, 4), 7, 4, 4)
    # the baseline is the inventory is the allocated AI lines: same money
    inv = org.execute("SELECT sum(EffectiveCost) FROM ai_inventory WHERE billing_period = '2026-10'").fetchone()[0]
    assert inv == total


def test_breakdown_by_business_unit_and_project(org):
    got = {(d, v): c for d, v, c in org.execute(
        "SELECT dimension, value, ai_effective_cost FROM ai_baseline_breakdown "
        "WHERE billing_period = '2026-10' AND dimension IN ('business_unit', 'project')").fetchall()}
    assert got == {("business_unit", "Research"): D("1080"),  # 100 + 300 + 480 + 200
                   ("business_unit", "Product"): D("168"),  # 50 + 60 + 18 + 40
                   ("business_unit", "Platform"): D("3010.01"),
                   ("project", "llm-assistant"): D("400"), ("project", "recsys"): D("200"),
                   ("project", "unassigned"): D("3658.01")}


def test_tools_without_owner_are_the_shadow_ones(org):
    got = set(org.execute("SELECT tool, team, source FROM ai_tools_without_owner "
                          "WHERE billing_period = '2026-10'").fetchall())
    assert got == {("GPU instances", "ml-research", "cloud"), ("OpenAI API", "ml-research", "invoice"),
                   ("Claude", "ads", "expense"), ("Cursor", "ads", "expense")}


def test_without_an_approved_list_every_ai_line_is_shadow(tmp_path):
    write_focus(tmp_path, "Expenses", "2026-10", "expenses", [
        expense("OPENAI *CHATGPT SUBSCR", "OpenAI", "20", "alice", "ads"),
        expense("UNITED AIRLINES", "United Airlines", "300", "alice", "ads")])
    con = build(tmp_path)
    assert con.execute("SELECT tool, status, owner FROM ai_inventory").fetchall() == [("ChatGPT", "shadow", None)]
    con.close()


@pytest.mark.parametrize("entries, message", [
    ([{"vendor": "X", "ownr": "a", "contract": "c", "budget": 1}], "unknown key 'approved_tools[0].ownr'"),
    ([{"vendor": "X", "owner": "a", "contract": "c", "budget": "lots"}], "'approved_tools[0].budget' must be a number"),
    ([{"vendor": "X", "owner": 5, "contract": "c", "budget": 1}], "'approved_tools[0].owner' must be non-empty text"),
    ([{"owner": "a", "contract": "c", "budget": 1}], "'approved_tools[0]' needs a vendor or a product"),
    ([{"vendor": "X", "owner": "a", "budget": 1}], "'approved_tools[0]' needs a contract or a purchase_order"),
    ([{"vendor": "X", "owner": "a", "contract": "c"}], "'approved_tools[0].budget' is required"),
    ({"vendor": "X"}, "'approved_tools' must be a list of tools"),
])
def test_a_wrong_approved_tools_entry_is_one_config_error_naming_it(tmp_path: Path, entries, message):
    path = tmp_path / "aispend.yaml"
    path.write_text(yaml.safe_dump({"approved_tools": entries}))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_the_demo_approved_tools_list_is_valid(tmp_path: Path):
    demo = Path(__file__).resolve().parents[1] / "pipelines" / "demo_config.yaml"
    path = tmp_path / "aispend.yaml"
    path.write_text(demo.read_text())
    tools = load_config(path).sections["approved_tools"]
    assert {(t.vendor, t.product) for t in tools} >= {("AWS", "Amazon Bedrock"), ("OpenAI", "ChatGPT"),
                                                       ("Anthropic", "Anthropic API")}
