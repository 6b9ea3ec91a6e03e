"""A month of expense exports for a ~40-person company: a Concur expense report extract (travel,
hotels, meals, some software) and a card program export (Brex or Ramp: SaaS, meals, rides), with
AI subscriptions among them under their real card descriptors, several bought by more than one
employee, and one refund. Written in the column names normalizers/expenses.py reads (Brex in
cents). Deterministic per seed.

    generate_month(folder, "2026-10")  ->  [folder/concur-expenses-2026-10.csv, folder/brex-transactions-2026-10.csv]

Put the folder in the inbox as one delivery (inbox/expenses/2026-10/): the month's exports
together, so that a re-delivery replaces the month whole."""
from __future__ import annotations

import csv
import datetime as dt
import random
from decimal import Decimal
from pathlib import Path

FORMATS = ("concur-brex", "concur-ramp", "all")
DEFAULT_ROWS = 300  # ordinary (non-AI) expense lines in the month

DEPARTMENTS = {"Engineering": 14, "Sales": 9, "Marketing": 6, "Research": 5, "Finance": 3, "People": 3}
FIRST = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "John", "Radia",
         "Tim", "Katherine", "Edsger", "Hedy", "Donald", "Shafi", "Niklaus", "Sophie", "Vint"]
LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen",
        "McCarthy", "Perlman", "Berners-Lee", "Johnson", "Dijkstra", "Lamarr", "Knuth", "Goldwasser", "Wirth",
        "Wilson", "Cerf"]

# AI subscriptions: merchant, card descriptor, MCC, monthly price (USD), departments that buy it,
# how many employees do. Descriptors as they appear on card statements.
AI_SUBSCRIPTIONS = [
    ("OpenAI", "OPENAI *CHATGPT SUBSCR", "5734", Decimal("20.00"), ("Engineering", "Sales", "Marketing"), 6),
    ("Anthropic", "Anthropic* Claude Sub", "5734", Decimal("20.00"), ("Engineering", "Research"), 4),
    ("Cursor", "CURSOR USAGE", "5734", Decimal("20.00"), ("Engineering",), 5),
    ("GitHub", "GITHUB COPILOT", "5817", Decimal("19.00"), ("Engineering",), 2),
    ("Midjourney", "MIDJOURNEY INC.", "5817", Decimal("30.00"), ("Marketing",), 2),
    ("Perplexity", "PERPLEXITY AI", "5734", Decimal("20.00"), ("Research", "Sales"), 2),
]
# Ordinary card spend: merchant, descriptor, MCC, category, price range (USD). Clearly not AI
# vendors (no Notion, Figma or Amazon, which sell AI features or cloud AI under the same name).
CARD_SPEND = [
    ("Slack", "SLACK T0235KQ7B", "7372", "Software", (Decimal("8.75"), Decimal("12.50"))),
    ("Zoom", "ZOOM.US 888-799-9666", "4816", "Software", (Decimal("15.99"), Decimal("21.99"))),
    ("1Password", "1PASSWORD* SUBSCRIPTION", "5734", "Software", (Decimal("7.99"), Decimal("19.95"))),
    ("DocuSign", "DOCUSIGN INC", "7372", "Software", (Decimal("10.00"), Decimal("45.00"))),
    ("Starbucks", "STARBUCKS STORE 05021", "5814", "Meals", (Decimal("4.25"), Decimal("18.40"))),
    ("Sweetgreen", "SWEETGREEN SOMA", "5812", "Meals", (Decimal("12.50"), Decimal("38.00"))),
    ("DoorDash", "DD *DOORDASH TEAMLUNC", "5812", "Meals", (Decimal("45.00"), Decimal("260.00"))),
    ("Uber", "UBER *TRIP HELP.UBER.COM", "4121", "Ground Transportation", (Decimal("9.80"), Decimal("64.00"))),
    ("Lyft", "LYFT *RIDE THU 4PM", "4121", "Ground Transportation", (Decimal("8.20"), Decimal("51.00"))),
    ("Staples", "STAPLES 00123", "5943", "Office Supplies", (Decimal("12.00"), Decimal("140.00"))),
    ("WeWork", "WEWORK ON DEMAND", "6513", "Office", (Decimal("29.00"), Decimal("59.00"))),
]
# Travel on expense reports: vendor, MCC, expense type, price range, currency.
TRAVEL = [
    ("United Airlines", "3000", "Airfare", (Decimal("180.00"), Decimal("940.00")), "USD"),
    ("Delta Air Lines", "3058", "Airfare", (Decimal("160.00"), Decimal("880.00")), "USD"),
    ("Lufthansa", "3008", "Airfare", (Decimal("220.00"), Decimal("1150.00")), "EUR"),
    ("Marriott", "3509", "Hotel", (Decimal("189.00"), Decimal("420.00")), "USD"),
    ("Hilton", "3504", "Hotel", (Decimal("159.00"), Decimal("390.00")), "USD"),
    ("NH Hotels Berlin", "7011", "Hotel", (Decimal("119.00"), Decimal("260.00")), "EUR"),
    ("Hertz", "3357", "Car Rental", (Decimal("48.00"), Decimal("210.00")), "USD"),
    ("Cafe Luna", "5812", "Business Meals", (Decimal("24.00"), Decimal("180.00")), "USD"),
    ("Restaurant Nobelhart", "5812", "Business Meals", (Decimal("40.00"), Decimal("260.00")), "EUR"),
    ("Yellow Cab", "4121", "Taxi", (Decimal("12.00"), Decimal("68.00")), "USD"),
]

CONCUR_HEADER = ["Employee ID", "Employee First Name", "Employee Last Name", "Report ID", "Report Name",
                 "Report Entry Transaction Date", "Report Entry Expense Type Name", "Report Entry Vendor Name",
                 "Report Entry Vendor Description", "Report Entry Description", "Journal Amount",
                 "Journal Debit Or Credit", "Reimbursement Currency", "Cost Center",
                 "Credit Card Transaction Merchant Category Code"]
BREX_HEADER = ["id", "card_id", "user", "department", "description", "amount.amount", "amount.currency",
               "initiated_at_date", "posted_at_date", "type", "merchant.raw_descriptor", "merchant.mcc", "memo"]
RAMP_HEADER = ["Transaction ID", "Transaction Date", "Merchant Name", "Merchant Descriptor", "Amount", "Currency",
               "User", "Department", "Ramp Category", "MCC", "Memo"]
EXPENSIFY_HEADER = ["Timestamp", "Merchant", "Amount", "MCC", "Category", "Tag", "Comment", "Reimbursable",
                    "Original Currency", "Original Amount", "Receipt"]


def employees(rng: random.Random, names: dict[str, str] | None = None) -> list[dict]:
    """The staff: `role` is one of DEPARTMENTS (what they buy), `dept` the department exported
    (`names` maps a role to an organisation's own name for it)."""
    out, n = [], 0
    people = [(f, l) for f in FIRST for l in LAST]
    rng.shuffle(people)
    for role, count in DEPARTMENTS.items():
        for _ in range(count):
            first, last = people[n]
            out.append({"id": f"E{1001 + n}", "first": first, "last": last, "name": f"{first} {last}",
                        "role": role, "dept": (names or {}).get(role, role), "card": f"card_{n + 1:04d}"})
            n += 1
    return out


def _price(rng: random.Random, low: Decimal, high: Decimal) -> Decimal:
    cents = rng.randint(int(low * 100), int(high * 100))
    return Decimal(cents) / 100


def _day(rng: random.Random, period: str) -> dt.date:
    first = dt.date.fromisoformat(f"{period}-01")
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


def card_lines(rng: random.Random, period: str, staff: list[dict], rows: int) -> list[dict]:
    """Card transactions: AI seats (one per buyer), ordinary spend, and one refund."""
    lines = []
    for merchant, descriptor, mcc, price, depts, buyers in AI_SUBSCRIPTIONS:
        pool = [e for e in staff if e["role"] in depts]
        for e in rng.sample(pool, min(buyers, len(pool))):
            lines.append({"employee": e, "merchant": merchant, "descriptor": descriptor, "mcc": mcc,
                          "category": "Software", "amount": price, "date": _day(rng, period),
                          "memo": f"{merchant} subscription"})
    for _ in range(rows * 2 // 3):
        merchant, descriptor, mcc, category, (low, high) = rng.choice(CARD_SPEND)
        lines.append({"employee": rng.choice(staff), "merchant": merchant, "descriptor": descriptor, "mcc": mcc,
                      "category": category, "amount": _price(rng, low, high), "date": _day(rng, period),
                      "memo": None})
    # One refund: a Midjourney seat bought by mistake, refunded the same month.
    bought = next(l for l in lines if l["merchant"] == "Midjourney")
    lines.append(dict(bought, amount=-bought["amount"], date=min(bought["date"] + dt.timedelta(days=2),
                                                                 _month_end(period)),
                      memo="Refund: duplicate Midjourney seat"))
    lines.sort(key=lambda l: (l["date"], l["employee"]["id"]))
    return lines


def _month_end(period: str) -> dt.date:
    first = dt.date.fromisoformat(f"{period}-01")
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def report_lines(rng: random.Random, period: str, staff: list[dict], rows: int) -> list[dict]:
    """Expense report entries: trips of travellers (flights, hotels, meals, cabs), a few software."""
    lines, report = [], 5000
    travellers = [e for e in staff if e["role"] in ("Sales", "Research", "Engineering", "Marketing")]
    while len(lines) < rows // 3:
        e = rng.choice(travellers)
        report += 1
        abroad = rng.random() < 0.3
        trip = [t for t in TRAVEL if (t[4] == "EUR") == abroad]
        for vendor, mcc, kind, (low, high), currency in rng.sample(trip, rng.randint(2, min(5, len(trip)))):
            lines.append({"employee": e, "report": f"R-{report}", "vendor": vendor, "mcc": mcc, "type": kind,
                          "amount": _price(rng, low, high), "currency": currency, "date": _day(rng, period),
                          "description": f"{kind} - {'Berlin' if abroad else 'customer visit'}"})
    # Reimbursed AI subscriptions paid on personal cards (shadow AI hides here too).
    for merchant, descriptor, mcc, price, depts, _ in AI_SUBSCRIPTIONS[:2]:
        e = rng.choice([s for s in staff if s["role"] in depts])
        report += 1
        lines.append({"employee": e, "report": f"R-{report}", "vendor": merchant, "mcc": mcc, "type": "Software",
                      "amount": price, "currency": "USD", "date": _day(rng, period),
                      "description": f"{merchant} subscription (personal card)", "descriptor": descriptor})
    lines.sort(key=lambda l: (l["report"], l["date"]))
    return lines


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_concur(path: Path, lines: list[dict]) -> Path:
    return _write(path, CONCUR_HEADER, [
        [l["employee"]["id"], l["employee"]["first"], l["employee"]["last"], l["report"],
         f"{l['employee']['last']} {l['date']:%b %Y}", l["date"].isoformat(), l["type"], l["vendor"],
         l.get("descriptor", l["vendor"].upper()), l["description"], f"{abs(l['amount']):.2f}",
         "CR" if l["amount"] < 0 else "DR", l["currency"], l["employee"]["dept"], l["mcc"]] for l in lines])


def write_brex(path: Path, lines: list[dict]) -> Path:
    rows = []
    for i, l in enumerate(lines):
        posted = l["date"] + dt.timedelta(days=1)
        rows.append([f"pste_{i + 1:06d}", l["employee"]["card"], l["employee"]["name"], l["employee"]["dept"],
                     l["merchant"], str(int(l["amount"] * 100)), "USD", l["date"].isoformat(), posted.isoformat(),
                     "REFUND" if l["amount"] < 0 else "PURCHASE", l["descriptor"], l["mcc"], l["memo"] or ""])
    return _write(path, BREX_HEADER, rows)


def write_ramp(path: Path, lines: list[dict]) -> Path:
    return _write(path, RAMP_HEADER, [
        [f"rt_{i + 1:06d}", l["date"].isoformat(), l["merchant"], l["descriptor"], f"{l['amount']:.2f}", "USD",
         l["employee"]["name"], l["employee"]["dept"], l["category"], l["mcc"], l["memo"] or ""]
        for i, l in enumerate(lines)])


def write_expensify(path: Path, lines: list[dict]) -> Path:
    return _write(path, EXPENSIFY_HEADER, [
        [f"{l['date'].isoformat()} 12:00:00", l["merchant"], f"{l['amount']:.2f}", l["mcc"], l["category"],
         l["employee"]["dept"], l["memo"] or "", "yes", "USD", f"{l['amount']:.2f}", ""] for l in lines])


def generate_month(folder: Path, period: str, seed: int = 42, fmt: str = "concur-brex",
                   rows: int = DEFAULT_ROWS, departments: dict[str, str] | None = None) -> list[Path]:
    """Write one month's exports into `folder` (one delivery); returns the files written.
    `departments`: an organisation's own names for DEPARTMENTS' roles, e.g. {"Engineering":
    "search", "Research": "ml-research"} (so that expenses meet the allocation's teams)."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    rng = random.Random(f"{seed}-{period}")
    staff = employees(random.Random(seed), departments)  # the same people every month
    folder = Path(folder)
    files = [write_concur(folder / f"concur-expenses-{period}.csv", report_lines(rng, period, staff, rows))]
    cards = card_lines(rng, period, staff, rows)
    if fmt == "concur-brex":
        files.append(write_brex(folder / f"brex-transactions-{period}.csv", cards))
    elif fmt == "concur-ramp":
        files.append(write_ramp(folder / f"ramp-transactions-{period}.csv", cards))
    else:  # every product: card spend split across Brex, Ramp and Expensify
        files.append(write_brex(folder / f"brex-transactions-{period}.csv", cards[0::3]))
        files.append(write_ramp(folder / f"ramp-transactions-{period}.csv", cards[1::3]))
        files.append(write_expensify(folder / f"expensify-expenses-{period}.csv", cards[2::3]))
    return files


def generate(out: Path, rows: int, period: str, seed: int = 42, fmt: str = "concur-brex") -> list[Path]:
    """`aispend generate expenses -o DIR`: `out` is the delivery folder."""
    return generate_month(out, period, seed, fmt, rows)
