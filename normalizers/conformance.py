"""The FinOps Foundation's official `focus-validator`, run in its own virtual environment
(scripts/make-validator-venv.sh) and read through its JUnit output, because it exits 0 even
when rules fail."""
from __future__ import annotations

import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("FOCUS_VALIDATOR_VENV", ROOT / ".venv-validator"))

# Rules that are wrong in focus-validator 2.2.1 itself; every other failed rule is a failure.
KNOWN_VALIDATOR_DEFECTS = {
    "InvoiceId-C-004-C": "its condition is empty, so it demands InvoiceId be null on every row, "
                         "although the spec requires null only for charges with no invoice",
    "InvoiceId-C-005-C": "its condition is empty too, so it demands an InvoiceId on every row (the "
                         "opposite of InvoiceId-C-004-C); a month in progress has no invoice yet",
    "CommitmentDiscountStatus-C-004-C": "its condition is inverted (CommitmentDiscountId IS NULL where the "
                                        "spec says 'is not null'), so it demands a status on every row without "
                                        "a commitment, which CommitmentDiscountStatus-C-003-C forbids",
    "CapacityReservationStatus-C-004-C": "its condition (an 'AND' the validator does not read) is dropped, so it "
                                         "demands a status on every row, even where CapacityReservationId is "
                                         "null, which CapacityReservationStatus-C-003-C forbids",
    "EffectiveCost-C-005-C": "it demands EffectiveCost 0 on every Purchase row, dropping the spec's "
                             "'intended to cover future eligible charges'; a support fee or other "
                             "one-time purchase rightly keeps its cost",
}


# FOCUS 1.2 applicability criteria declared to the validator, per source (x_Source): what the
# provider supports AND its export lets us fill. Without any, the validator skips every rule of a
# conditional column (441 of 578 checks). Left out on purpose: PRICING_BILLING_CURRENCY_DIFFERENCES
# but for Azure (MCA prices in USD, bills in another currency; every other source prices in its
# billing currency, which the pricing-currency columns then repeat), VIRTUAL_CURRENCY (none
# mapped), ACCOUNT_NAMING (not every export names its billing account), CAPACITY_RESERVATION (not
# mapped), and the MULTIPLE_*_TYPES ones (one account type each).
_CLOUD = ("AVAILABILITY_ZONE_SUPPORTED", "REGION_SUPPORTED", "SUB_ACCOUNT_SUPPORTED", "TAGGING_SUPPORTED",
          "USAGE_MEASUREMENT_SUPPORTED", "MULTIPLE_PRICING_CATEGORIES_SUPPORTED", "PUBLIC_PRICE_LIST_SUPPORTED",
          "NEGOTIATED_PRICING_SUPPORTED", "RESOURCE_TYPE_ASSIGNMENT_SUPPORTED",
          "BILLING_BASED_ON_PROVISIONED_RESOURCES_SUPPORTED")
APPLICABILITY: dict[str, tuple[str, ...]] = {
    "aws-cur": _CLOUD + ("COMMITMENT_DISCOUNT_SUPPORTED", "UNIT_PRICING_SUPPORTED"),
    "azure-cost": _CLOUD + ("COMMITMENT_DISCOUNT_SUPPORTED", "UNIT_PRICING_SUPPORTED",
                            "PRICING_BILLING_CURRENCY_DIFFERENCES_SUPPORTED"),
    # GCP's committed-use discounts reach us as credits on the usage they cover (x_Credits), not
    # as commitment columns; its unit prices are not mapped (FOCUS wants ListCost = ListUnitPrice
    # x PricingQuantity, and Google rates cost and cost_at_list per row: see the README).
    "gcp-billing": _CLOUD,
    "openai": ("SUB_ACCOUNT_SUPPORTED", "USAGE_MEASUREMENT_SUPPORTED", "PUBLIC_PRICE_LIST_SUPPORTED"),
    "anthropic": ("SUB_ACCOUNT_SUPPORTED", "USAGE_MEASUREMENT_SUPPORTED", "PUBLIC_PRICE_LIST_SUPPORTED"),
    "invoices": (),
    "expenses": (),
}


# Rules our output does not meet yet, and why; reported like validator defects (not failures)
# and listed in the README. Nothing else may fail.
KNOWN_GAPS: dict[str, str] = {}


@dataclass
class Conformance:
    file: Path
    failed: dict[str, str]  # rule id -> message, known validator defects and gaps excluded
    ignored: dict[str, str]  # known validator defects and gaps that failed
    tests: int

    @property
    def ok(self) -> bool:
        return not self.failed


def validator_path() -> Path:
    exe = VENV / "bin" / "focus-validator"
    if not exe.exists():
        raise RuntimeError(f"focus-validator is not installed at {VENV}; run scripts/make-validator-venv.sh")
    return exe


def source_of(parquet: Path) -> str:
    import pyarrow.parquet as pq
    return pq.ParquetFile(parquet).read_row_group(0, columns=["x_Source"]).column(0)[0].as_py()


def run_validator(parquet: Path) -> Conformance:
    """The validator on one FOCUS file, with its source's APPLICABILITY declared."""
    exe = validator_path()
    criteria = APPLICABILITY[source_of(parquet)]
    # It opens focus_validator/rules/currency_codes.csv relative to the working directory.
    site = next((VENV / "lib").glob("python3.*/site-packages"))
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        proc = subprocess.run(
            [str(exe), "--data-file", str(Path(parquet).resolve()), "--validate-version", "1.2",
             "--block-download", "--output-type", "unittest", "--output-destination", str(report),
             *(["--applicability-criteria", ",".join(criteria)] if criteria else [])],
            cwd=site, capture_output=True, text=True, timeout=900)
        if not report.exists():
            raise RuntimeError(f"focus-validator wrote no report: {proc.stderr[-2000:]}")
        root = ET.parse(report).getroot()
    failed, ignored, tests = {}, {}, 0
    for case in root.iter("testcase"):
        tests += 1
        failure = case.find("failure")
        if failure is None:
            continue
        rule = case.get("name", "").split(" :: ")[0]
        if "Composite" in case.get("name", ""):
            continue  # a composite fails exactly when one of its parts does; the part is reported
        known = rule in KNOWN_VALIDATOR_DEFECTS or rule in KNOWN_GAPS
        (ignored if known else failed)[rule] = failure.get("message", "")
    return Conformance(Path(parquet), failed, ignored, tests)
