"""The `allocation` section of aispend.yaml: who pays for what (DESIGN.md section 5).

    allocation:
      tags:                      # canonical key -> tag keys that mean it (case-insensitive)
        team: [team, owner-team, owner_team]
        cluster: [gpu-cluster]   # any extra canonical key may be added
      teams:                     # team -> cost center (team names are case/space-normalized)
        ml-research: {cost_center: CC-100}
      cost_centers:              # cost center -> business unit
        CC-100: {business_unit: Research}
      rules:                     # in priority order; the first rule that matches a line wins
        - id: team-tag
          team_from_tag: team    # the recipient is the line's `team` tag value
        - id: data-accounts
          match: {account: "777788889999"}
          team: data-eng
        - id: support-split
          match: {service: [AWS Support (Business), Tax]}
          split: {ml-research: 50, search: 30, ads: 20}    # percentages, summing to 100
      pools:                     # shared capacity; a line a pool matches is allocated by it first
        - id: gpu-shared-1
          match: {tag: {cluster: gpu-shared-1}}
          usage: gpu_usage.csv   # GPU-hours per team per day or hour (see USAGE_COLUMNS)
          method: proportional   # proportional | even | fixed (then `shares: {team: pct}`)
          idle: own_line         # own_line (to platform_team) | spread (over the users)
          platform_team: ml-platform
          window: day            # day | hour | month: usage and cost are matched per window

`match` conditions (all must hold; a list means any of its values; values compare case- and
whitespace-insensitively): tag {canonical key: value | [values] | "*" (present)}, account
(SubAccountId or BillingAccountId: AWS account, Azure subscription, GCP project), provider,
service, service_category, sku (SkuId), usage_type, resource_id, instance_type.

Everything here is data: the loader puts it into reference tables with Arrow; no value is ever
formatted into SQL text."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .config_error import ConfigError


CANONICAL_TAGS = {
    "team": ["team", "owner-team", "owner_team", "owner"],
    "project": ["project", "project-name"],
    "cost_center": ["cost_center", "cost-center", "costcenter"],
    "env": ["env", "environment", "stage"],
    "ai_project": ["ai_project", "ai-project"],
}
MATCH_FIELDS = ("tag", "account", "provider", "service", "service_category", "sku", "usage_type",
                "resource_id", "instance_type")
METHODS = ("proportional", "even", "fixed")
IDLE_MODES = ("own_line", "spread")
WINDOWS = ("hour", "day", "month")
# Usage file: one row per team and window. `team` (or `namespace`, mapped with the pool's
# `namespaces`), `date` (YYYY-MM-DD) or `hour` (a timestamp, UTC), and GPU-hours as
# `gpu_hours`, or `requested_gpu_hours` and/or `used_gpu_hours` (then max of the two counts).
USAGE_COLUMNS = ("team", "namespace", "date", "hour", "gpu_hours", "requested_gpu_hours", "used_gpu_hours")
UNALLOCATED = "unallocated"
_WS = re.compile(r"[ \t\n\r\f\v]+")


def norm(value: str) -> str:
    """Tag values, team names and match values compare like this (the SQL does the same)."""
    return _WS.sub(" ", value).strip(" ").lower()


@dataclass(frozen=True)
class Condition:
    field: str
    key: str           # canonical tag key, or '' for a non-tag field
    values: tuple      # normalized values; empty = the tag is present


@dataclass
class Rule:
    id: str
    match: list[Condition]
    team: str | None = None
    team_from_tag: str | None = None
    split: dict[str, Decimal] | None = None


@dataclass
class Pool:
    id: str
    match: list[Condition]
    platform_team: str
    method: str = "proportional"
    idle: str = "own_line"
    window: str = "day"
    usage: Path | None = None
    shares: dict[str, Decimal] | None = None
    namespaces: dict[str, str] = field(default_factory=dict)


@dataclass
class AllocationConfig:
    tags: dict[str, list[str]] = field(default_factory=lambda: {k: list(v) for k, v in CANONICAL_TAGS.items()})
    teams: dict[str, str | None] = field(default_factory=dict)        # team -> cost center
    cost_centers: dict[str, str | None] = field(default_factory=dict)  # cost center -> business unit
    rules: list[Rule] = field(default_factory=lambda: [Rule("team-tag", [Condition("tag", "team", ())],
                                                            team_from_tag="team")])
    pools: list[Pool] = field(default_factory=list)
    base: Path | None = None  # the config file's folder: usage files are relative to it


class _Section:
    """Validation helpers that name the key path in every error."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, message: str):
        raise ConfigError(f"{self.path}: {where}: {message}")

    def mapping(self, where: str, raw, allowed: set[str] | None = None, required: tuple = ()) -> dict:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            self.fail(where, "must be a mapping")
        for key in raw:
            if not isinstance(key, str):
                self.fail(where, f"key {key!r} must be text")
            if allowed is not None and key not in allowed:
                self.fail(f"{where}.{key}", f"unknown key (expected one of: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in raw:
                self.fail(f"{where}.{key}", "is required")
        return raw

    def text(self, where: str, raw) -> str:
        if isinstance(raw, bool) or not isinstance(raw, (str, int)) or (isinstance(raw, str) and not raw.strip()):
            self.fail(where, "must be non-empty text")
        return str(raw)

    def texts(self, where: str, raw) -> list[str]:
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            self.fail(where, "must not be empty")
        return [self.text(f"{where}[{i}]" if isinstance(raw, list) else where, v) for i, v in enumerate(items)]

    def choice(self, where: str, raw, options: tuple) -> str:
        if raw not in options:
            self.fail(where, f"{raw!r} is not one of: {', '.join(options)}")
        return raw

    def percentages(self, where: str, raw) -> dict[str, Decimal]:
        raw = self.mapping(where, raw)
        if not raw:
            self.fail(where, "must name at least one team")
        out: dict[str, Decimal] = {}
        for team, pct in raw.items():
            if isinstance(pct, bool) or not isinstance(pct, (int, float, str)):
                self.fail(f"{where}.{team}", "must be a percentage (a number)")
            try:
                value = Decimal(str(pct))
            except InvalidOperation:
                self.fail(f"{where}.{team}", f"{pct!r} is not a number")
            if not value.is_finite() or value <= 0 or value.normalize().as_tuple().exponent < -4:
                self.fail(f"{where}.{team}", f"{pct!r} must be positive, at most 4 decimals")
            out[norm(team)] = out.get(norm(team), Decimal(0)) + value
        if sum(out.values()) != 100:
            self.fail(where, f"percentages sum to {sum(out.values())}, not 100")
        return out

    def match(self, where: str, raw, tag_keys: set[str]) -> list[Condition]:
        raw = self.mapping(where, raw, set(MATCH_FIELDS))
        out = []
        for fld, value in raw.items():
            if fld == "tag":
                tags = self.mapping(f"{where}.tag", value)
                if not tags:
                    self.fail(f"{where}.tag", "must name at least one tag key")
                for key, want in tags.items():
                    if key not in tag_keys:
                        self.fail(f"{where}.tag.{key}", f"not a canonical tag key (known: {', '.join(sorted(tag_keys))})")
                    vals = () if want == "*" else tuple(norm(v) for v in self.texts(f"{where}.tag.{key}", want))
                    out.append(Condition("tag", key, vals))
            else:
                out.append(Condition(fld, "", tuple(norm(v) for v in self.texts(f"{where}.{fld}", value))))
        return out


_TOP = {"tags", "teams", "cost_centers", "rules", "pools"}
_RULE = {"id", "match", "team", "team_from_tag", "split"}
_POOL = {"id", "match", "usage", "method", "idle", "platform_team", "window", "shares", "namespaces"}


def parse_allocation(path: Path, raw) -> AllocationConfig:
    """SECTIONS['allocation']: the section, validated; the first wrong key is a ConfigError."""
    v = _Section(path)
    raw = v.mapping("allocation", raw, _TOP)
    cfg = AllocationConfig(base=Path(path).resolve().parent)
    if "tags" in raw:
        tags = v.mapping("allocation.tags", raw["tags"])
        for key, aliases in tags.items():
            cfg.tags[key] = [a.strip().lower() for a in v.texts(f"allocation.tags.{key}", aliases)]
    seen_alias: dict[str, str] = {}
    for key, aliases in cfg.tags.items():
        for a in aliases:
            if seen_alias.setdefault(a, key) != key:
                v.fail(f"allocation.tags.{key}", f"tag key {a!r} is already an alias of {seen_alias[a]!r}")
    for cc, settings in v.mapping("allocation.cost_centers", raw.get("cost_centers")).items():
        s = v.mapping(f"allocation.cost_centers.{cc}", settings, {"business_unit"})
        cfg.cost_centers[cc] = v.text(f"allocation.cost_centers.{cc}.business_unit", s["business_unit"]) \
            if "business_unit" in s else None
    for team, settings in v.mapping("allocation.teams", raw.get("teams")).items():
        s = v.mapping(f"allocation.teams.{team}", settings, {"cost_center"})
        cc = v.text(f"allocation.teams.{team}.cost_center", s["cost_center"]) if "cost_center" in s else None
        if cc is not None and cc not in cfg.cost_centers:
            v.fail(f"allocation.teams.{team}.cost_center", f"{cc!r} is not in allocation.cost_centers")
        cfg.teams[norm(team)] = cc
    if "rules" in raw:
        cfg.rules = [_rule(v, f"allocation.rules[{i}]", r, set(cfg.tags)) for i, r in enumerate(_list(v, "allocation.rules", raw["rules"]))]
    cfg.pools = [_pool(v, f"allocation.pools[{i}]", p, set(cfg.tags), cfg.base)
                 for i, p in enumerate(_list(v, "allocation.pools", raw.get("pools") or []))]
    ids = [r.id for r in cfg.rules] + [p.id for p in cfg.pools]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        v.fail("allocation", f"rule/pool id {dupes[0]!r} is used twice")
    return cfg


def _list(v: _Section, where: str, raw) -> list:
    if not isinstance(raw, list):
        v.fail(where, "must be a list")
    return raw


def _rule(v: _Section, where: str, raw, tag_keys: set[str]) -> Rule:
    raw = v.mapping(where, raw, _RULE, required=("id",))
    rule = Rule(v.text(f"{where}.id", raw["id"]), v.match(f"{where}.match", raw.get("match"), tag_keys))
    targets = [k for k in ("team", "team_from_tag", "split") if k in raw]
    if len(targets) != 1:
        v.fail(where, "needs exactly one of team, team_from_tag, split")
    if "team" in raw:
        rule.team = norm(v.text(f"{where}.team", raw["team"]))
    elif "team_from_tag" in raw:
        key = v.text(f"{where}.team_from_tag", raw["team_from_tag"])
        if key not in tag_keys:
            v.fail(f"{where}.team_from_tag", f"not a canonical tag key (known: {', '.join(sorted(tag_keys))})")
        rule.team_from_tag = key
        # the tag must be present for the rule to match
        if not any(c.field == "tag" and c.key == key for c in rule.match):
            rule.match.append(Condition("tag", key, ()))
    else:
        rule.split = v.percentages(f"{where}.split", raw["split"])
    return rule


def _pool(v: _Section, where: str, raw, tag_keys: set[str], base: Path) -> Pool:
    raw = v.mapping(where, raw, _POOL, required=("id", "match", "platform_team"))
    pool = Pool(v.text(f"{where}.id", raw["id"]), v.match(f"{where}.match", raw["match"], tag_keys),
                norm(v.text(f"{where}.platform_team", raw["platform_team"])))
    if not pool.match:
        v.fail(f"{where}.match", "must name the pool's cost lines (tag, account, resource_id, instance_type...)")
    pool.method = v.choice(f"{where}.method", raw.get("method", "proportional"), METHODS)
    pool.idle = v.choice(f"{where}.idle", raw.get("idle", "own_line"), IDLE_MODES)
    pool.window = v.choice(f"{where}.window", raw.get("window", "day"), WINDOWS)
    if "usage" in raw:
        pool.usage = base / v.text(f"{where}.usage", raw["usage"])
    elif pool.method != "fixed":
        v.fail(f"{where}.usage", f"is required for method {pool.method}")
    if pool.method == "fixed":
        if "shares" not in raw:
            v.fail(f"{where}.shares", "is required for method fixed")
        pool.shares = v.percentages(f"{where}.shares", raw["shares"])
    elif "shares" in raw:
        v.fail(f"{where}.shares", "only applies to method fixed")
    for ns, team in v.mapping(f"{where}.namespaces", raw.get("namespaces")).items():
        pool.namespaces[norm(ns)] = norm(v.text(f"{where}.namespaces.{ns}", team))
    return pool
