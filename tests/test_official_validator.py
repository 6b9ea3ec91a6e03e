"""The FinOps Foundation's focus-validator 2.2.1 on our output: every sample and a generated CUR
in each format. Any failed rule fails, except those listed (with reasons) as defects of the
validator itself in normalizers/conformance.py. The validator's venv is made by
scripts/make-validator-venv.sh, which the test command runs first."""
from __future__ import annotations

import pytest

from normalizers.conformance import KNOWN_VALIDATOR_DEFECTS, run_validator
from normalizers.normalize import normalize

from conftest import AWS_SAMPLES, assert_official


def _check(tmp_path, inputs):
    normalize("aws-cur", inputs, tmp_path)
    assert_official(tmp_path)


@pytest.mark.official
@pytest.mark.parametrize("sample", AWS_SAMPLES, ids=lambda p: p.name)
def test_samples_pass_official_validator(sample, tmp_path):
    _check(tmp_path, [sample])


@pytest.mark.official
@pytest.mark.parametrize("fmt", ["legacy-csv", "cur2-parquet"])
def test_generated_passes_official_validator(generated, fmt, tmp_path):
    _check(tmp_path, [generated[fmt]])


@pytest.mark.official
def test_validator_catches_a_broken_file(generated, tmp_path):
    """The harness must be able to fail: a file with every ChargeCategory wrong fails it."""
    import duckdb
    normalize("aws-cur", [generated["legacy-csv"]], tmp_path / "ok")
    src = next((tmp_path / "ok").rglob("*.parquet"))
    bad = tmp_path / "bad.parquet"
    duckdb.sql(f"COPY (SELECT * REPLACE ('Spending' AS ChargeCategory) FROM '{src}') TO '{bad}' (FORMAT parquet)")
    result = run_validator(bad)
    assert any(rule.startswith("ChargeCategory") for rule in result.failed)
    assert set(KNOWN_VALIDATOR_DEFECTS).isdisjoint(result.failed)
