"""The nightly work for one source, without Dagster: land new deliveries from the inbox,
normalize the latest delivery of a billing period, check it, publish it. Dagster assets call
these; so do tests."""
from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from normalizers import checks
from normalizers.errors import BadInputError
from normalizers.normalize import SOURCES, connect, normalize, prepare_connection
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


def inbox_deliveries(inbox: Path) -> list[tuple[str, list[Path]]]:
    """(name, files): a file directly in the inbox is one delivery; a folder is one delivery of
    several files (AWS splits a large month into parts). The name is the inbox entry's."""
    if not inbox.is_dir():
        return []
    out = []
    for entry in sorted(inbox.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            files = sorted(p for p in entry.iterdir() if p.is_file() and not p.name.startswith("."))
            if files:
                out.append((entry.name, files))
        elif entry.is_file():
            out.append((entry.name, [entry]))
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
    for name, files in inbox_deliveries(inbox):
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
                landed.append(root.land(source, p, files, digests, name=name))
    if errors:
        raise errors[0]
    return landed


def process_period(root: DataRoot, source: str, period: str, force: bool = False,
                   options: dict | None = None) -> PeriodResult:
    """Normalize and publish what the billing period is made of (the latest delivery, or for
    accumulating sources the latest delivery of each name), unless it already is."""
    module = SOURCES[source]
    deliveries = root.current_deliveries(source, period, accumulate=getattr(module, "ACCUMULATES", False))
    if not deliveries:
        return PeriodResult(source, period, "no-delivery")
    files = [f for d in deliveries for f in d.files]
    delivery_id = deliveries[0].delivery_id if len(deliveries) == 1 else hashlib.sha256(
        "+".join(sorted(d.delivery_id for d in deliveries)).encode()).hexdigest()[:16]
    published = root.published(module.PROVIDER, period)
    if published and published.get("delivery") == delivery_id and not force:
        stored = [CheckOutcome(**c) for c in published.get("checks", [])]
        return PeriodResult(source, period, "unchanged", delivery_id, published["rows"], stored)
    con = connect()
    staging = root.staging()
    try:
        result = normalize(source, files, staging, con, options)
        if period not in result.partitions:
            raise BadInputError(files[0].name, f"holds billing periods {sorted(result.partitions)}, "
                                               f"not {period} as it was landed for")
        # A file may also carry late rows of another month (GCP): each month is published by
        # its own partition run, from its own landing of the same file.
        folder = result.partitions[period]
        parquet = str(folder / "*.parquet")
        rows = con.execute(f"SELECT count(*) FROM read_parquet({sql_str(parquet)})").fetchone()[0]
        outcomes = [schema_check(con, folder), conservation_check(con, module, files, parquet, period, options)]
    except BadInputError as err:
        _cleanup(staging)
        bad = _culprit(deliveries, err)
        root.quarantine(source, bad.files, err)
        shutil.rmtree(bad.folder)  # a rejected delivery leaves landing whole; the others stay
        raise
    out = PeriodResult(source, period, "checked", delivery_id, rows, outcomes)
    if all(c.passed for c in outcomes):
        record = {"provider": provider_slug(module.PROVIDER), "billing_period": period, "source": source,
                  "delivery": delivery_id, "source_files": [f.name for f in files],
                  "rows": rows, "totals": focus_totals(con, parquet),
                  "checks": [c.__dict__ for c in outcomes]}
        root.publish(module.PROVIDER, period, folder, record)
        out.status = "published"
    _cleanup(staging)
    return out


def _culprit(deliveries: list[Delivery], err: BadInputError) -> Delivery:
    """The delivery holding the file the error names, the newest if several hold a file of
    that name (the older ones were published before without error); else the newest."""
    for d in reversed(deliveries):
        if any(f.name == err.file for f in d.files):
            return d
    return deliveries[-1]


def _cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def focus_totals(con, parquet: str) -> list[dict]:
    rows = con.execute(f"SELECT BillingCurrency, sum(BilledCost), sum(EffectiveCost) FROM read_parquet({sql_str(parquet)}) "
                       f"GROUP BY ALL ORDER BY 1").fetchall()
    return [{"currency": c, "billed_cost": str(b), "effective_cost": str(e)} for c, b, e in rows]


def schema_check(con, path: Path) -> CheckOutcome:
    """The contract, read twice: DuckDB rules over every row, and the pandera schema. `path`:
    a FOCUS Parquet file or a partition's folder of them."""
    glob = str(path / "*.parquet") if path.is_dir() else str(path)
    missing = checks.missing_columns(con, glob)
    violations = checks.check_parquet(con, glob) if not missing else []
    problems = [f"missing columns: {', '.join(missing)}"] if missing else [str(v) for v in violations]
    if not problems:
        try:
            validate_parquet(path)
        except Exception as exc:  # pandera raises SchemaError / SchemaErrors
            problems.append(f"pandera: {str(exc).splitlines()[0]}")
    return CheckOutcome("focus_schema", not problems, "; ".join(problems) or "all FOCUS contract rules hold",
                        {"violations": len(problems)})


def conservation_check(con, module, files: list[Path], parquet: str, period: str,
                       options: dict | None = None) -> CheckOutcome:
    """sum(BilledCost) per currency equals the export's own total for the period, to the cent."""
    mappings = [module.FileMapping(f, **(options or {})) for f in files]
    prepare_connection(module, con, mappings)
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
