"""The nightly work for one source, without Dagster: land new deliveries from the inbox,
normalize the latest delivery of a billing period, check it, publish it. Dagster assets call
these; so do tests."""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from normalizers import checks
from normalizers.errors import BadInputError
from normalizers.normalize import SOURCES, bind_variables, connect, normalize
from normalizers.pandera_schema import validate_parquet
from normalizers.sources import sql_str

from .storage import DataRoot, Delivery, provider_slug, sha256


@dataclass
class CheckOutcome:
    name: str
    passed: bool
    detail: str
    metadata: dict = field(default_factory=dict)


@dataclass
class PeriodResult:
    source: str
    period: str
    status: str  # published, unchanged, no-delivery
    delivery: str | None = None
    rows: int = 0
    checks: list[CheckOutcome] = field(default_factory=list)


def inbox_deliveries(inbox: Path) -> list[list[Path]]:
    """A file directly in the inbox is one delivery; a folder is one delivery of several files
    (AWS splits a large month into parts)."""
    if not inbox.is_dir():
        return []
    out = []
    for entry in sorted(inbox.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            files = sorted(p for p in entry.iterdir() if p.is_file() and not p.name.startswith("."))
            if files:
                out.append(files)
        elif entry.is_file():
            out.append([entry])
    return out


def sync_inbox(root: DataRoot, source: str, inbox: Path, period: str | None = None,
               options: dict | None = None) -> list[tuple[Delivery, bool]]:
    """Land the inbox's deliveries (for one period, or all). Bad files are quarantined (a copy:
    the inbox belongs to the provider) and reported; already-quarantined content is skipped.
    `options`: the source's settings from the config (Config.options)."""
    module = SOURCES[source]
    con = connect()
    landed, errors = [], []
    rejected = root.quarantined_digests(source)
    for files in inbox_deliveries(inbox):
        digests = [sha256(f) for f in files]
        if rejected.intersection(digests):
            continue
        try:
            periods = {p for f in files for p in module.billing_periods(module.FileMapping(f, **(options or {})), con)}
        except BadInputError as err:
            errors.append(err)
            staged = root.staging()
            copies = [Path(shutil.copy2(f, staged / f.name)) for f in files]
            root.quarantine(source, copies, err)
            shutil.rmtree(staged, ignore_errors=True)
            continue
        for p in sorted(periods):
            if period is None or p == period:
                landed.append(root.land(source, p, files, digests))
    if errors:
        raise errors[0]
    return landed


def process_period(root: DataRoot, source: str, period: str, force: bool = False,
                   options: dict | None = None) -> PeriodResult:
    """Normalize and publish the latest delivery of a billing period, unless it already is."""
    module = SOURCES[source]
    delivery = root.latest_delivery(source, period)
    if delivery is None:
        return PeriodResult(source, period, "no-delivery")
    published = root.published(module.PROVIDER, period)
    if published and published.get("delivery") == delivery.delivery_id and not force:
        stored = [CheckOutcome(**c) for c in published.get("checks", [])]
        return PeriodResult(source, period, "unchanged", delivery.delivery_id, published["rows"], stored)
    con = connect()
    staging = root.staging()
    try:
        result = normalize(source, delivery.files, staging, con, options)
        if period not in result.partitions:
            raise BadInputError(delivery.files[0].name, f"holds billing periods {sorted(result.partitions)}, "
                                                        f"not {period} as it was landed for")
        # A file may also carry late rows of another month (GCP): each month is published by
        # its own partition run, from its own landing of the same file.
        parquet = next(result.partitions[period].glob("*.parquet"))
        rows = con.execute(f"SELECT count(*) FROM read_parquet({sql_str(parquet)})").fetchone()[0]
        outcomes = [schema_check(con, parquet), conservation_check(con, module, delivery, parquet, period, options)]
    except BadInputError as err:
        _cleanup(staging)
        root.quarantine(source, delivery.files, err)
        shutil.rmtree(delivery.folder)  # a rejected delivery leaves landing whole
        raise
    out = PeriodResult(source, period, "checked", delivery.delivery_id, rows, outcomes)
    if all(c.passed for c in outcomes):
        record = {"provider": provider_slug(module.PROVIDER), "billing_period": period, "source": source,
                  "delivery": delivery.delivery_id, "source_files": [f.name for f in delivery.files],
                  "rows": rows, "totals": focus_totals(con, parquet),
                  "checks": [c.__dict__ for c in outcomes]}
        root.publish(module.PROVIDER, period, parquet, record)
        out.status = "published"
    _cleanup(staging)
    return out


def _cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def focus_totals(con, parquet: Path) -> list[dict]:
    rows = con.execute(f"SELECT BillingCurrency, sum(BilledCost), sum(EffectiveCost) FROM read_parquet({sql_str(parquet)}) "
                       f"GROUP BY ALL ORDER BY 1").fetchall()
    return [{"currency": c, "billed_cost": str(b), "effective_cost": str(e)} for c, b, e in rows]


def schema_check(con, parquet: Path) -> CheckOutcome:
    """The contract, read twice: DuckDB rules over every row, and the pandera schema."""
    missing = checks.missing_columns(con, str(parquet))
    violations = checks.check_parquet(con, str(parquet)) if not missing else []
    problems = [f"missing columns: {', '.join(missing)}"] if missing else [str(v) for v in violations]
    if not problems:
        try:
            validate_parquet(parquet)
        except Exception as exc:  # pandera raises SchemaError / SchemaErrors
            problems.append(f"pandera: {str(exc).splitlines()[0]}")
    return CheckOutcome("focus_schema", not problems, "; ".join(problems) or "all FOCUS contract rules hold",
                        {"violations": len(problems)})


def conservation_check(con, module, delivery: Delivery, parquet: Path, period: str,
                       options: dict | None = None) -> CheckOutcome:
    """sum(BilledCost) per currency equals the export's own total for the period, to the cent."""
    mappings = [module.FileMapping(f, **(options or {})) for f in delivery.files]
    bind_variables(module, con, mappings)
    source = {(p, c): Decimal(t) for p, c, t in con.execute(module.delivery_totals_sql(mappings)).fetchall()
              if p == period}
    focus = {(p, c): Decimal(t) for p, c, t in con.execute(
        f"SELECT strftime(BillingPeriodStart, '%Y-%m'), BillingCurrency, sum(BilledCost) "
        f"FROM read_parquet({sql_str(parquet)}) GROUP BY ALL").fetchall()}
    cent = Decimal("0.01")
    diffs = {k: (source.get(k, Decimal(0)), focus.get(k, Decimal(0))) for k in set(source) | set(focus)
             if source.get(k, Decimal(0)).quantize(cent) != focus.get(k, Decimal(0)).quantize(cent)}
    detail = ("; ".join(f"{p} {c}: source {s} vs FOCUS {f}" for (p, c), (s, f) in sorted(diffs.items()))
              or "BilledCost equals the source total for every currency")
    return CheckOutcome("conservation", not diffs, detail,
                        {f"{p} {c}": str(t.quantize(cent)) for (p, c), t in sorted(source.items())})
