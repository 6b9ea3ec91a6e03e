"""AI classification of cost lines (sql/enrich/cost_lines.sql): hand-written FOCUS rows of every
source kind, each with the category, vendor, product and rule worked out by hand from the rate
cards; the card-descriptor matching on truncated descriptors, in both directions (matches and
non-matches); conservation of money; user text staying data."""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from focus_rows import build, write_focus
from pipelines import ai_catalog

D = Decimal
Q = """'"; DROP TABLE cost_lines; --"""
QUOTE_VENDOR = f"Acme {Q} Labs"

# id -> (row, expected (x_AiCategory, x_AiVendor, x_AiProduct, rule that matched))
AWS = {
    "p4d": ({"ServiceName": "Amazon Elastic Compute Cloud", "ServiceCategory": "Compute", "x_InstanceType": "p4d.24xlarge",
             "x_UsageType": "USE1-BoxUsage:p4d.24xlarge", "BilledCost": "32.7726"},
            ("gpu_compute", "AWS", "GPU instances", "gpu_instance: p4d.24xlarge has 8 x NVIDIA A100 40GB")),
    # no instance type column: found in the usage type (the SKU field)
    "p5-usage": ({"ServiceName": "Amazon Elastic Compute Cloud", "ServiceCategory": "Compute",
                  "x_UsageType": "USE1-BoxUsage:p5.48xlarge", "BilledCost": "98.32"},
                 ("gpu_compute", "AWS", "GPU instances", "gpu_instance: p5.48xlarge has 8 x NVIDIA H100 80GB")),
    "g6-skumeter": ({"ServiceName": "Amazon Elastic Compute Cloud", "ServiceCategory": "Compute",
                     "SkuMeter": "USE1-BoxUsage:g6.xlarge", "BilledCost": "0.8048"},
                    ("gpu_compute", "AWS", "GPU instances", "gpu_instance: g6.xlarge has 1 x NVIDIA L4 24GB")),
    "g5-sp": ({"ServiceName": "Amazon Elastic Compute Cloud", "ServiceCategory": "Compute",
               "SkuPriceDetails": '{"InstanceType": "g5.12xlarge"}', "BilledCost": "-5.672"},
              ("gpu_compute", "AWS", "GPU instances", "gpu_instance: g5.12xlarge has 4 x NVIDIA A10G 24GB")),
    "m5": ({"ServiceName": "Amazon Elastic Compute Cloud", "ServiceCategory": "Compute", "x_InstanceType": "m5.xlarge",
            "x_UsageType": "USE1-BoxUsage:m5.xlarge", "BilledCost": "0.192"}, ("none", None, None, None)),
    "rds": ({"ServiceName": "Amazon Relational Database Service", "ServiceCategory": "Databases",
             "x_UsageType": "USE1-InstanceUsage:db.r6g.large", "BilledCost": "0.26"}, ("none", None, None, None)),
    "bedrock": ({"ServiceName": "Amazon Bedrock", "ServiceCategory": "AI and Machine Learning",
                 "x_UsageType": "USE1-Claude3.5Sonnet-input-tokens", "BilledCost": "12.5"},
                ("managed_ai", "AWS", "Amazon Bedrock", "managed_ai_service: ServiceName 'Amazon Bedrock' is Amazon Bedrock")),
    # a managed service on a GPU instance stays managed_ai (rule 1 before rule 2)
    "sagemaker": ({"ServiceName": "Amazon SageMaker", "ServiceCategory": "AI and Machine Learning",
                   "x_InstanceType": "ml.g5.12xlarge", "x_UsageType": "USE1-Train:ml.g5.12xlarge", "BilledCost": "7.09"},
                  ("managed_ai", "AWS", "Amazon SageMaker",
                   "managed_ai_service: ServiceName 'Amazon SageMaker' is Amazon SageMaker (on GPU instance ml.g5.12xlarge)")),
    # a model sold on AWS Marketplace through Bedrock: the service wins over its publisher
    "bedrock-edition": ({"ServiceName": "Claude 3.5 Sonnet (Amazon Bedrock Edition)", "PublisherName": "Anthropic, PBC",
                         "ServiceCategory": "AI and Machine Learning", "BilledCost": "3"},
                        ("managed_ai", "AWS", "Amazon Bedrock", "managed_ai_service: ServiceName "
                         "'Claude 3.5 Sonnet (Amazon Bedrock Edition)' is Amazon Bedrock")),
    "marketplace-cursor": ({"ServiceName": "Cursor Business", "PublisherName": "Anysphere Inc",
                            "ServiceCategory": "Developer Tools", "BilledCost": "400"},
                           ("ai_saas", "Cursor", None, "marketplace_vendor: PublisherName 'Anysphere Inc' is vendor Cursor")),
    "fraud-detector": ({"ServiceName": "Amazon Fraud Detector", "ServiceCategory": "AI and Machine Learning",
                        "BilledCost": "1.25"},
                       ("managed_ai", "AWS", "Amazon Fraud Detector", "ai_service_category: ServiceName "
                        "'Amazon Fraud Detector' is in ServiceCategory 'AI and Machine Learning'")),
    "s3": ({"ServiceName": "Amazon Simple Storage Service", "ServiceCategory": "Storage", "BilledCost": "0.023"},
           ("none", None, None, None)),
}
GCP = {
    "a3": ({"ServiceName": "Compute Engine", "ServiceCategory": "Compute", "x_InstanceType": "a3-highgpu-8g",
            "SkuMeter": "Nvidia H100 80GB GPU running in Americas", "BilledCost": "88.49"},
           ("gpu_compute", "Google Cloud", "GPU instances", "gpu_instance: a3-highgpu-8g has 8 x NVIDIA H100 80GB")),
    "gpu-commitment": ({"ServiceName": "Compute Engine", "ServiceCategory": "Compute",
                        "SkuMeter": "Commitment v1: A2 GPU in Americas for 1 Year", "BilledCost": "1.85"},
                       ("gpu_compute", "Google Cloud", "GPU instances",
                        "gpu_sku: SkuMeter 'Commitment v1: A2 GPU in Americas for 1 Year' matches '%GPU%'")),
    "n2": ({"ServiceName": "Compute Engine", "ServiceCategory": "Compute", "x_InstanceType": "n2-standard-8",
            "SkuMeter": "N2 Instance Core running in Americas", "BilledCost": "0.03"}, ("none", None, None, None)),
    "vertex": ({"ServiceName": "Vertex AI", "ServiceCategory": "AI and Machine Learning",
                "SkuMeter": "Gemini 1.5 Pro Input Text Tokens", "BilledCost": "2.5"},
               ("managed_ai", "Google Cloud", "Vertex AI", "managed_ai_service: ServiceName 'Vertex AI' is Vertex AI")),
}
AZURE = {
    "nd-h100": ({"ServiceName": "Virtual Machines", "ServiceCategory": "Compute",
                 "x_InstanceType": "Standard_ND96isr_H100_v5", "BilledCost": "98.32"},
                ("gpu_compute", "Microsoft", "GPU instances",
                 "gpu_instance: Standard_ND96isr_H100_v5 has 8 x NVIDIA H100 80GB")),
    # a reservation purchase names the VM size only in its description
    "nd-ri": ({"ServiceName": "Azure Reservations", "ServiceCategory": "Compute", "ChargeCategory": "Purchase",
               "ChargeDescription": "Reserved VM Instance, Standard_ND96isr_H100_v5, East US, 3 Years",
               "BilledCost": "1000"},
              ("gpu_compute", "Microsoft", "GPU instances",
               "gpu_instance: Standard_ND96isr_H100_v5 has 8 x NVIDIA H100 80GB")),
    "aoai": ({"ServiceName": "Azure OpenAI", "ServiceCategory": "AI and Machine Learning", "BilledCost": "4.2"},
             ("managed_ai", "Microsoft", "Azure OpenAI", "managed_ai_service: ServiceName 'Azure OpenAI' is Azure OpenAI")),
    "d4": ({"ServiceName": "Virtual Machines", "ServiceCategory": "Compute", "x_InstanceType": "Standard_D4s_v5",
            "BilledCost": "0.192"}, ("none", None, None, None)),
}
OPENAI = {
    # usage of the API is model_api even where a model name says "chatgpt"
    "oai-usage": ({"ServiceName": "OpenAI API", "ServiceCategory": "AI and Machine Learning", "SkuId": "chatgpt-4o-latest",
                   "ChargeDescription": "chatgpt-4o-latest, input", "BilledCost": "20.00"},
                  ("model_api", "OpenAI", "OpenAI API", "model_api_usage: openai usage export of OpenAI")),
}
ANTHROPIC = {
    "ant-usage": ({"ServiceName": "Claude API", "ServiceCategory": "AI and Machine Learning", "SkuId": "claude-sonnet-4",
                   "BilledCost": "31.41"},
                  ("model_api", "Anthropic", "Anthropic API", "model_api_usage: anthropic usage export of Anthropic")),
}
INVOICES = {
    "inv-chatgpt": ({"ProviderName": "OpenAI LLC", "ServiceCategory": "AI and Machine Learning",
                     "ChargeDescription": "ChatGPT Team - 25 seats", "BilledCost": "750"},
                    ("ai_saas", "OpenAI", "ChatGPT", "vendor_name: ProviderName 'OpenAI LLC' is vendor OpenAI, "
                     "product 'ChatGPT Team' in ChargeDescription")),
    "inv-cursor": ({"ProviderName": "Cursor", "ServiceCategory": "AI and Machine Learning",
                    "ChargeDescription": "Cursor Business, 12 seats", "BilledCost": "480"},
                   ("ai_saas", "Cursor", None, "vendor_name: ProviderName 'Cursor' is vendor Cursor")),
    "inv-mistral": ({"ProviderName": "Mistral AI", "ServiceCategory": "AI and Machine Learning",
                     "ChargeDescription": "La Plateforme usage October", "BilledCost": "99.99"},
                    ("model_api", "Mistral AI", None, "vendor_name: ProviderName 'Mistral AI' is vendor Mistral AI")),
    # a vendor not in the list whose ServiceName names a listed tool
    "inv-copilot": ({"ProviderName": "GitHub", "ServiceName": "GitHub Copilot Business",
                     "ServiceCategory": "AI and Machine Learning", "ChargeDescription": "Copilot Business seats",
                     "BilledCost": "912"},
                    ("ai_saas", "GitHub Copilot", None,
                     "vendor_name: ServiceName 'GitHub Copilot Business' names vendor GitHub Copilot")),
    # a vendor not in the list, its name full of quotes and SQL: classified, kept as it is
    "inv-quotes": ({"ProviderName": QUOTE_VENDOR, "ServiceCategory": "AI and Machine Learning",
                    "ChargeDescription": "Data labeling", "BilledCost": "10.01"},
                   ("ai_saas", QUOTE_VENDOR, None, f"ai_invoice: '{QUOTE_VENDOR}' is not in the vendor list; "
                    f"its invoice is AI and Machine Learning")),
}


def expense(descriptor, merchant, cost, employee="alice"):
    return {"ProviderName": merchant, "PublisherName": merchant, "InvoiceIssuerName": "Ramp",
            "x_MerchantDescriptor": descriptor, "x_Employee": employee, "x_Mcc": "5734",
            "BilledCost": cost}


EXPENSES = {
    "exp-chatgpt": (expense("OPENAI *CHATGPT SUBSCR", "OpenAI", "20.00"),
                    ("ai_saas", "OpenAI", "ChatGPT",
                     "card_descriptor: 'OPENAI CHATGPT SUBSCR' starts with pattern 'OPENAI *CHATGPT SUBSCR' of OpenAI / ChatGPT")),
    # truncated by the card network in the middle of a word
    "exp-claude-cut": (expense("ANTHROPIC* CLAUDE S", "ANTHROPIC* CLAUDE S", "18.00"),
                       ("ai_saas", "Anthropic", "Claude",
                        "card_descriptor: 'ANTHROPIC CLAUDE S' is cut short from pattern 'Anthropic* Claude Sub' "
                        "of Anthropic / Claude")),
    # cut inside a word of 3+ letters, then the city
    "exp-claude-city": (expense("ANTHROPIC* CLAUDE TEA SAN FRANCISCO CA", "Anthropic", "18.00"),
                        ("ai_saas", "Anthropic", "Claude",
                         "card_descriptor: 'ANTHROPIC CLAUDE TEA SAN FRANCISCO CA' is cut short from pattern "
                         "'ANTHROPIC* CLAUDE TEAM' of Anthropic / Claude")),
    # the pattern itself is cut: 'SUB' of 'SUBSCRIPTION'
    "exp-claude-long": (expense("Anthropic* Claude Subscription", "Anthropic", "100.00"),
                        ("ai_saas", "Anthropic", "Claude",
                         "card_descriptor: 'ANTHROPIC CLAUDE SUBSCRIPTION' starts with pattern 'Anthropic* Claude Sub' "
                         "of Anthropic / Claude")),
    "exp-anthropic-api": (expense("ANTHROPIC", "Anthropic", "50.00"),
                          ("model_api", "Anthropic", None, "card_descriptor: 'ANTHROPIC' starts with pattern 'ANTHROPIC' of Anthropic")),
    # a store number at the end, and a payment facilitator prefix
    "exp-cursor": (expense("CURSOR USAGE #0423", "Cursor", "40.00"),
                   ("ai_saas", "Cursor", None, "card_descriptor: 'CURSOR USAGE' starts with pattern 'CURSOR USAGE' of Cursor")),
    "exp-cursor-sq": (expense("SQ *CURSOR, AI POWERED IDE", "Cursor", "20.00"),
                      ("ai_saas", "Cursor", None,
                       "card_descriptor: 'CURSOR AI POWERED IDE' starts with pattern 'CURSOR, AI POWERED IDE' of Cursor")),
    "exp-domain": (expense("OPENAI.COM 4155551234", "OPENAI.COM", "5.00"),
                   ("model_api", "OpenAI", None, "card_descriptor: 'OPENAI COM' starts with pattern 'openai.com' of OpenAI")),
    # no descriptor: the merchant name is the vendor's name
    "exp-perplexity": (expense(None, "Perplexity", "20.00"),
                       ("ai_saas", "Perplexity", None, "merchant_name: 'Perplexity' is a name of Perplexity")),
    # look-alikes: never guessed
    "exp-opentable": (expense("OPENTABLE*REST", "OpenTable", "85.00"), ("none", None, None, None)),
    "exp-anthropologie": (expense("ANTHROPOLOGIE #0123", "Anthropologie", "120.00"), ("none", None, None, None)),
    "exp-anthropi": (expense("ANTHROPI", "ANTHROPI", "1.00"), ("none", None, None, None)),
    "exp-cursor-bar": (expense("CURSOR BAR & GRILL", "Cursor Bar", "35.00"), ("none", None, None, None)),
    "exp-claudes": (expense("CLAUDE'S BISTRO", "Claude's Bistro", "42.00"), ("none", None, None, None)),
    "exp-claude-a": (expense("CLAUDE A MARTIN DDS", "Claude A Martin", "150.00"), ("none", None, None, None)),
    "exp-united": (expense("UNITED AIRLINES 0162", "United Airlines", "412.30"), ("none", None, None, None)),
    "exp-refund": (expense("OPENAI *CHATGPT SUBSCR", "OpenAI", "-20.00", employee="bob"),
                   ("ai_saas", "OpenAI", "ChatGPT",
                    "card_descriptor: 'OPENAI CHATGPT SUBSCR' starts with pattern 'OPENAI *CHATGPT SUBSCR' of OpenAI / ChatGPT")),
}
# (partition provider, source, rows)
SOURCES = [("AWS", "aws-cur", AWS), ("Google Cloud", "gcp-billing", GCP), ("Microsoft", "azure-cost", AZURE),
           ("OpenAI", "openai", OPENAI), ("Anthropic", "anthropic", ANTHROPIC), ("Invoices", "invoices", INVOICES),
           ("Expenses", "expenses", EXPENSES)]
EXPECTED = {k: v[1] for _, _, rows in SOURCES for k, v in rows.items()}


@pytest.fixture(scope="module")
def lines(tmp_path_factory):
    root = tmp_path_factory.mktemp("classify")
    for provider, source, rows in SOURCES:
        write_focus(root, provider, "2026-10", source,
                    [dict(row, x_TestId=key) for key, (row, _) in rows.items()])
    # a second month and currency, for conservation per period and currency
    write_focus(root, "AWS", "2026-11", "aws-cur", [
        {"x_TestId": "nov-p4d", "ServiceName": "Amazon Elastic Compute Cloud", "x_InstanceType": "p4d.24xlarge",
         "BilledCost": "0.000000000001"},
        {"x_TestId": "nov-eur", "ServiceName": "Amazon Bedrock", "BillingCurrency": "EUR", "BilledCost": "7.77"}])
    mp = pytest.MonkeyPatch()
    try:
        con = build(root)
    finally:
        mp.undo()
    yield con
    con.close()


def test_every_row_gets_the_hand_worked_category_vendor_product_and_rule(lines):
    got = {k: (c, v, p, m) for k, c, v, p, m in lines.execute(
        "SELECT x_TestId, x_AiCategory, x_AiVendor, x_AiProduct, x_AiMatch FROM cost_lines "
        "WHERE billing_period = '2026-10'").fetchall()}
    assert set(got) == set(EXPECTED)
    wrong = {k: (got[k], EXPECTED[k]) for k in EXPECTED if got[k] != EXPECTED[k]}
    assert not wrong


def test_truncated_descriptor_matches_and_look_alikes_do_not(lines):
    got = dict(lines.execute("SELECT x_TestId, x_AiVendor FROM cost_lines WHERE x_Source = 'expenses'").fetchall())
    assert got["exp-claude-cut"] == "Anthropic"  # 'ANTHROPIC* CLAUDE S'
    for look_alike in ("exp-opentable", "exp-anthropologie", "exp-anthropi", "exp-cursor-bar", "exp-claudes",
                       "exp-claude-a", "exp-united"):
        assert got[look_alike] is None, look_alike


def test_classification_conserves_money_and_lines(lines):
    per = ("SELECT billing_period, BillingCurrency, count(*), sum(BilledCost), sum(EffectiveCost) FROM {} "
           "GROUP BY ALL ORDER BY ALL")
    before = lines.execute(per.format("focus_costs")).fetchall()
    after = lines.execute(per.format("cost_lines")).fetchall()
    assert after == before
    # and the hand sum of the rows written, per month and currency
    hand = {}
    for _, _, rows in SOURCES:
        for row, _ in rows.values():
            hand[("2026-10", "USD")] = hand.get(("2026-10", "USD"), D(0)) + D(row["BilledCost"])
    assert {(p, c): b for p, c, _, b, _ in after} == hand | {("2026-11", "USD"): D("0.000000000001"),
                                                           ("2026-11", "EUR"): D("7.77")}
    ids = lines.execute("SELECT count(DISTINCT x_LineId), count(*) FROM cost_lines").fetchone()
    assert ids[0] == ids[1]


def test_user_text_stays_data(lines):
    # the warehouse still has its tables and the name came through byte for byte
    assert lines.execute("SELECT x_AiVendor FROM cost_lines WHERE x_TestId = 'inv-quotes'").fetchone()[0] == QUOTE_VENDOR
    assert lines.execute("SELECT count(*) FROM cost_lines").fetchone()[0] == len(EXPECTED) + 2


def test_gpu_rate_card_has_the_contract_columns_and_the_main_instance_types():
    path = ai_catalog.RATE_CARDS / "gpu_instances.csv"
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["provider", "instance_type", "gpu_model", "gpu_count", "on_demand_hourly_usd"]
    by_type = {r["instance_type"]: r for r in rows}
    for itype, provider, count in [("p4d.24xlarge", "AWS", "8"), ("p4de.24xlarge", "AWS", "8"),
                                   ("p5.48xlarge", "AWS", "8"), ("p5e.48xlarge", "AWS", "8"),
                                   ("g5.xlarge", "AWS", "1"), ("g6.xlarge", "AWS", "1"),
                                   ("ml.p4d.24xlarge", "AWS", "8"), ("a2-highgpu-1g", "Google Cloud", "1"),
                                   ("a3-highgpu-8g", "Google Cloud", "8"), ("g2-standard-4", "Google Cloud", "1"),
                                   ("Standard_ND96isr_H100_v5", "Microsoft", "8"),
                                   ("Standard_ND96amsr_A100_v4", "Microsoft", "8"),
                                   ("Standard_NC24ads_A100_v4", "Microsoft", "1")]:
        assert (by_type[itype]["provider"], by_type[itype]["gpu_count"]) == (provider, count)
    assert all(D(r["on_demand_hourly_usd"]) > 0 for r in rows)


@pytest.mark.parametrize("text, message", [
    ("vendors:\n  - vendor: X\n    category: seats\n", "vendors[0]: category 'seats' is not one of model_api, ai_saas"),
    ("vendors:\n  - vendor: X\n    category: ai_saas\n    descriptor: [X]\n", "vendors[0]: unknown key 'descriptor'"),
    ("vendors:\n  - category: ai_saas\n", "vendors[0]: 'vendor' is required"),
])
def test_a_bad_vendor_list_names_the_entry(tmp_path: Path, text, message):
    path = tmp_path / "ai_vendors.yaml"
    path.write_text(text)
    with pytest.raises(ai_catalog.RateCardError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ai_catalog.read_vendors(path)


def test_a_generated_cur_through_the_real_normalizer(tmp_path: Path):
    """GPU instance lines of a CUR are gpu_compute, Bedrock and SageMaker lines managed_ai, every
    other line none; the expectation is read from the raw CUR and the rate card CSV directly."""
    import shutil

    from conftest import read_source_rows
    from normalizers.normalize import connect, normalize
    from pipelines.generators.aws_cur import generate

    cur = generate(tmp_path / "cur.csv.gz", 3000, "2026-10", seed=7, fmt="legacy-csv")
    result = normalize("aws-cur", [cur], tmp_path / "out", connect())
    for period, folder in result.partitions.items():
        target = tmp_path / "root" / "focus" / "provider=aws" / f"billing_period={period}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(folder, target)
    with open(ai_catalog.RATE_CARDS / "gpu_instances.csv", newline="") as fh:
        gpus = {r["instance_type"] for r in csv.DictReader(fh) if r["provider"] == "AWS"}
    expected = {}
    for n, row in enumerate(read_source_rows(cur), start=1):
        if row["lineItem/ProductCode"] in ("AmazonBedrock", "AmazonSageMaker"):
            expected[n] = "managed_ai"
        elif row["product/instanceType"] in gpus:
            expected[n] = "gpu_compute"
        else:
            expected[n] = "none"
    con = build(tmp_path / "root")
    got = con.execute("SELECT DISTINCT x_SourceRow, x_AiCategory FROM cost_lines").fetchall()
    con.close()
    assert len(got) == len(expected)  # one category per source row
    assert dict(got) == expected
    assert set(expected.values()) == {"managed_ai", "gpu_compute", "none"}
