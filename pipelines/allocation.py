"""Allocation reference tables, loaded from the config (and the pools' usage files) with Arrow,
before the sql/allocation/ models run. Nothing from the config is formatted into SQL text.

    alloc_tag_aliases   canonical_key, alias (lower-case tag key), position (first alias wins)
    alloc_teams         team, cost_center, business_unit
    alloc_owners        one row per pool (first) and rule, in match order: owner_rank, owner_kind,
                        owner_id, n_groups (conditions that must all hold), target, team, tag_key,
                        method, idle_mode, platform_team, window_unit, has_usage
    alloc_conditions    owner_rank, grp, field, key, value (NULL: the tag is present)
    alloc_shares        owner_rank, team, pct (split rules and fixed pools)
    alloc_pool_usage    owner_rank, usage_start, team, gpu_hours (max(requested, used))
    alloc_gpu_instances instance_type, gpu_count (rate_cards/gpu_instances.csv over built-ins)"""
from __future__ import annotations

import csv
import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa

from normalizers.errors import BadInputError

from .allocation_config import AllocationConfig, Pool, norm
from .config import ConfigError

RATE_CARDS = Path(__file__).resolve().parents[1] / "rate_cards"
# GPUs per instance type, used when rate_cards/gpu_instances.csv does not list the type.
GPU_COUNTS = {
    "p5.48xlarge": 8, "p5e.48xlarge": 8, "p5en.48xlarge": 8, "p4d.24xlarge": 8, "p4de.24xlarge": 8,
    "p3.2xlarge": 1, "p3.8xlarge": 4, "p3.16xlarge": 8, "p3dn.24xlarge": 8,
    "g5.xlarge": 1, "g5.2xlarge": 1, "g5.4xlarge": 1, "g5.8xlarge": 1, "g5.12xlarge": 4,
    "g5.24xlarge": 4, "g5.48xlarge": 8, "g6.xlarge": 1, "g6.12xlarge": 4, "g6.48xlarge": 8,
    "a2-highgpu-1g": 1, "a2-highgpu-2g": 2, "a2-highgpu-4g": 4, "a2-highgpu-8g": 8,
    "a2-ultragpu-8g": 8, "a3-highgpu-8g": 8, "a3-megagpu-8g": 8, "g2-standard-4": 1,
    "Standard_ND96asr_v4": 8, "Standard_ND96amsr_A100_v4": 8, "Standard_ND96isr_H100_v5": 8,
    "Standard_NC24ads_A100_v4": 1, "Standard_NC48ads_A100_v4": 2, "Standard_NC96ads_A100_v4": 4,
}
HOURS = Decimal("0.000001")  # GPU-hours are kept to 6 decimals


def gpu_instances(rate_cards: Path = RATE_CARDS) -> dict[str, Decimal]:
    """GPUs per instance type (fractional for shared-GPU types such as g6f)."""
    counts = {k: Decimal(v) for k, v in GPU_COUNTS.items()}
    card = rate_cards / "gpu_instances.csv"
    if card.exists():
        with open(card, newline="", encoding="utf-8") as fh:
            for n, row in enumerate(csv.DictReader(fh), start=1):
                if row.get("instance_type") and (row.get("gpu_count") or "").strip():
                    counts[row["instance_type"].strip()] = _hours(card, n, "gpu_count", row["gpu_count"])
    return counts


def load_allocation(con, config) -> None:
    """REFERENCE_LOADERS entry: the allocation reference tables for this build."""
    alloc: AllocationConfig = (config.sections.get("allocation") if config is not None else None) or AllocationConfig()
    roots = [p for p in (alloc.base, getattr(config, "data_dir", None)) if p is not None]
    owners, conditions, shares, usage = [], [], [], []
    entries = [("pool", p) for p in alloc.pools] + [("rule", r) for r in alloc.rules]
    for rank, (kind, item) in enumerate(entries):
        where = f"allocation.pools[{rank}]" if kind == "pool" else f"allocation.rules[{rank - len(alloc.pools)}]"
        groups = {}
        for c in item.match:
            grp = groups.setdefault((c.field, c.key), len(groups))
            for value in c.values or (None,):
                conditions.append({"owner_rank": rank, "grp": grp, "field": c.field, "key": c.key, "value": value})
        row = {"owner_rank": rank, "owner_kind": kind, "owner_id": item.id, "n_groups": len(groups),
               "target": None, "team": None, "tag_key": None, "method": None, "idle_mode": None,
               "platform_team": None, "window_unit": None, "has_usage": False}
        if kind == "pool":
            row |= {"target": "pool", "method": item.method, "idle_mode": item.idle,
                    "platform_team": item.platform_team, "window_unit": item.window,
                    "has_usage": item.usage is not None}
            if item.usage is not None:
                path = _inside(item, roots, f"{where}.usage")
                usage += [{"owner_rank": rank, **u} for u in read_usage(path, item)]
            for team, pct in (item.shares or {}).items():
                shares.append({"owner_rank": rank, "team": team, "pct": pct})
        elif item.split is not None:
            row["target"] = "split"
            shares += [{"owner_rank": rank, "team": t, "pct": p} for t, p in item.split.items()]
        elif item.team_from_tag is not None:
            row |= {"target": "tag", "tag_key": item.team_from_tag}
        else:
            row |= {"target": "team", "team": item.team}
        owners.append(row)

    aliases = [{"canonical_key": key, "alias": a, "position": i}
               for key, names in alloc.tags.items() for i, a in enumerate(names)]
    teams = [{"team": t, "cost_center": cc, "business_unit": alloc.cost_centers.get(cc) if cc else None}
             for t, cc in alloc.teams.items()]
    text, num = pa.string(), pa.decimal128(38, 6)
    _create(con, "alloc_tag_aliases", aliases, {"canonical_key": text, "alias": text, "position": pa.int32()})
    _create(con, "alloc_teams", teams, {"team": text, "cost_center": text, "business_unit": text})
    _create(con, "alloc_owners", owners, {
        "owner_rank": pa.int32(), "owner_kind": text, "owner_id": text, "n_groups": pa.int32(), "target": text,
        "team": text, "tag_key": text, "method": text, "idle_mode": text, "platform_team": text,
        "window_unit": text, "has_usage": pa.bool_()})
    _create(con, "alloc_conditions", conditions, {"owner_rank": pa.int32(), "grp": pa.int32(), "field": text,
                                                  "key": text, "value": text})
    _create(con, "alloc_shares", shares, {"owner_rank": pa.int32(), "team": text, "pct": num})
    _create(con, "alloc_pool_usage", usage, {"owner_rank": pa.int32(), "usage_start": pa.timestamp("us", tz="UTC"),
                                             "team": text, "gpu_hours": num})
    _create(con, "alloc_gpu_instances", [{"instance_type": k, "gpu_count": v} for k, v in gpu_instances().items()],
            {"instance_type": text, "gpu_count": num})


def _create(con, name: str, rows: list[dict], schema: dict) -> None:
    table = pa.Table.from_pylist(rows, schema=pa.schema(list(schema.items())))
    con.register("__arrow_rows", table)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __arrow_rows")
    finally:
        con.unregister("__arrow_rows")


def _inside(pool: Pool, roots: list[Path], where: str) -> Path:
    """The usage file, which must stay inside the config's folder or the data folder."""
    path = pool.usage.resolve()
    if not any(path.is_relative_to(Path(r).resolve()) for r in roots):
        inside = " and ".join(str(Path(r).resolve()) for r in roots)
        raise ConfigError(f"{where}: {pool.usage} is outside {inside}")
    if not path.is_file():
        raise ConfigError(f"{where}: {pool.usage} not found")
    return path


def read_usage(path: Path, pool: Pool) -> list[dict]:
    """The usage file's rows, validated: (usage_start, team, gpu_hours). Read with DuckDB, the
    path bound as a parameter; every value as text, parsed here with file/row/column errors."""
    import duckdb
    reader = "read_parquet(?)" if path.name.endswith(".parquet") else "read_csv(?, all_varchar = true, header = true)"
    try:
        with duckdb.connect() as con:
            cur = con.execute(f"SELECT * FROM {reader}", [str(path)])
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
    except duckdb.Error as exc:
        raise BadInputError(path.name, f"cannot be read as a GPU usage file ({str(exc).splitlines()[0]})") from exc
    lower = {c.lower(): c for c in cols}
    who = "team" if "team" in lower else "namespace" if "namespace" in lower else None
    when = "hour" if "hour" in lower else "date" if "date" in lower else None
    amounts = [c for c in ("gpu_hours", "requested_gpu_hours", "used_gpu_hours") if c in lower]
    if who is None or when is None or not amounts:
        raise BadInputError(path.name, "a GPU usage file needs columns team (or namespace), date (or hour) "
                                       f"and gpu_hours (or requested_gpu_hours / used_gpu_hours); found {', '.join(cols)}")
    idx = {c: cols.index(lower[c]) for c in [who, when, *amounts]}
    out = []
    for n, row in enumerate(rows, start=1):
        name = row[idx[who]]
        if name is None or not str(name).strip():
            raise BadInputError(path.name, "empty", n, lower[who])
        team = norm(str(name))
        if who == "namespace":
            team = pool.namespaces.get(team, team)
        start = _when(path, n, lower[when], row[idx[when]], when)
        values = [_hours(path, n, lower[c], row[idx[c]]) for c in amounts]
        values = [v for v in values if v is not None]
        if not values:
            raise BadInputError(path.name, "no GPU-hours on this row", n, lower[amounts[0]])
        out.append({"usage_start": start, "team": team, "gpu_hours": max(values)})
    return out


def _when(path: Path, n: int, col: str, value, kind: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    try:
        text = str(value).strip()
        parsed = (dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if kind == "hour"
                  else dt.datetime.combine(dt.date.fromisoformat(text), dt.time()))
    except (TypeError, ValueError):
        raise BadInputError(path.name, f"{value!r} is not a {'timestamp' if kind == 'hour' else 'date (YYYY-MM-DD)'}", n, col)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _hours(path: Path, n: int, col: str, value) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        hours = Decimal(str(value).strip())
    except InvalidOperation:
        raise BadInputError(path.name, f"{value!r} is not a number of GPU-hours", n, col)
    if not hours.is_finite() or hours < 0:
        raise BadInputError(path.name, f"{value!r}: GPU-hours must be a non-negative number", n, col)
    return hours.quantize(HOURS, ROUND_HALF_EVEN)
