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
    "EffectiveCost-C-005-C": "it demands EffectiveCost 0 on every Purchase row, dropping the spec's "
                             "'intended to cover future eligible charges'; a support fee or other "
                             "one-time purchase rightly keeps its cost",
}


@dataclass
class Conformance:
    file: Path
    failed: dict[str, str]  # rule id -> message, known validator defects excluded
    ignored: dict[str, str]  # known validator defects that failed
    tests: int

    @property
    def ok(self) -> bool:
        return not self.failed


def validator_path() -> Path:
    exe = VENV / "bin" / "focus-validator"
    if not exe.exists():
        raise RuntimeError(f"focus-validator is not installed at {VENV}; run scripts/make-validator-venv.sh")
    return exe


def run_validator(parquet: Path) -> Conformance:
    exe = validator_path()
    # It opens focus_validator/rules/currency_codes.csv relative to the working directory.
    site = next((VENV / "lib").glob("python3.*/site-packages"))
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        proc = subprocess.run(
            [str(exe), "--data-file", str(Path(parquet).resolve()), "--validate-version", "1.2",
             "--block-download", "--output-type", "unittest", "--output-destination", str(report)],
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
        (ignored if rule in KNOWN_VALIDATOR_DEFECTS else failed)[rule] = failure.get("message", "")
    return Conformance(Path(parquet), failed, ignored, tests)
