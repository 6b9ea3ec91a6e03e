"""The AI catalogue from rate_cards/: GPU instance types, the AI vendor list and the managed AI
services, validated and loaded into warehouse reference tables (Arrow, never SQL text) for the
classification in sql/enrich/cost_lines.sql.

Tables (one row per ...):
  gpu_instances        instance type: provider, instance_type, gpu_model, gpu_count, on_demand_hourly_usd
  ai_vendor_products   vendor (product NULL) and vendor product, with its category
  ai_vendor_names      name under which a vendor/product appears (vendor name, alias, product alias)
  ai_vendor_descriptors card descriptor pattern (domains included) of a vendor/product
  ai_descriptor_prefixes payment facilitator prefix removed from card descriptors
  ai_services          ServiceName pattern of a managed AI service of a cloud provider
  ai_gpu_skus          SKU text pattern of GPU capacity billed without an instance type
"""
from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa
import yaml

RATE_CARDS = Path(__file__).resolve().parents[1] / "rate_cards"
CATEGORIES = ("gpu_compute", "managed_ai", "model_api", "ai_saas")
VENDOR_CATEGORIES = ("model_api", "ai_saas")
GPU_COLUMNS = ["provider", "instance_type", "gpu_model", "gpu_count", "on_demand_hourly_usd"]
MONEY = pa.decimal128(38, 12)


class RateCardError(ValueError):
    pass


def _text(where: str, value, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise RateCardError(f"{where}: expected non-empty text, got {value!r}")
    return value.strip()


def _texts(where: str, value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RateCardError(f"{where}: expected a list of text")
    return [_text(f"{where}[{i}]", v) for i, v in enumerate(value)]


def _keys(where: str, raw, allowed: set[str], required: set[str]) -> None:
    if not isinstance(raw, dict):
        raise RateCardError(f"{where}: expected a mapping")
    for k in raw:
        if k not in allowed:
            raise RateCardError(f"{where}: unknown key '{k}' (expected one of: {', '.join(sorted(allowed))})")
    for k in sorted(required - set(raw)):
        raise RateCardError(f"{where}: '{k}' is required")


def _category(where: str, value, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise RateCardError(f"{where}: category {value!r} is not one of {', '.join(allowed)}")
    return value


def read_gpu_instances(path: Path) -> pa.Table:
    rows = {c: [] for c in GPU_COLUMNS}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != GPU_COLUMNS:
            raise RateCardError(f"{path}: header must be {','.join(GPU_COLUMNS)}")
        seen = set()
        for n, row in enumerate(reader, start=2):
            where = f"{path}, line {n}"
            for c in ("provider", "instance_type", "gpu_model"):
                rows[c].append(_text(f"{where}, column {c}", row[c]))
            key = (row["provider"], row["instance_type"].lower())
            if key in seen:
                raise RateCardError(f"{where}: instance type {row['instance_type']} listed twice")
            seen.add(key)
            try:
                count = int(row["gpu_count"])
                price = Decimal(row["on_demand_hourly_usd"])
            except (ValueError, InvalidOperation):
                raise RateCardError(f"{where}: gpu_count must be an integer and on_demand_hourly_usd "
                                    f"a decimal") from None
            if count <= 0 or not price.is_finite() or price < 0:
                raise RateCardError(f"{where}: gpu_count must be positive and the price not negative")
            rows["gpu_count"].append(count)
            rows["on_demand_hourly_usd"].append(price)
    return pa.table(rows, schema=pa.schema([("provider", pa.string()), ("instance_type", pa.string()),
                                            ("gpu_model", pa.string()), ("gpu_count", pa.int32()),
                                            ("on_demand_hourly_usd", MONEY)]))


def _table(rows: list[tuple], names: list[str]) -> pa.Table:
    return pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})


def read_vendors(path: Path) -> dict[str, pa.Table]:
    raw = yaml.safe_load(path.read_text()) or {}
    _keys(str(path), raw, {"strip_prefixes", "vendors"}, {"vendors"})
    products, names, descriptors = [], [], []
    seen = set()
    if not isinstance(raw["vendors"], list):
        raise RateCardError(f"{path}: 'vendors' must be a list")
    for i, v in enumerate(raw["vendors"]):
        where = f"{path}: vendors[{i}]"
        _keys(where, v, {"vendor", "category", "aliases", "domains", "descriptors", "products"},
              {"vendor", "category"})
        vendor = _text(f"{where}.vendor", v["vendor"])
        if vendor.lower() in seen:
            raise RateCardError(f"{where}: vendor {vendor} listed twice")
        seen.add(vendor.lower())
        category = _category(where, v["category"], VENDOR_CATEGORIES)
        products.append((vendor, None, category))
        names += [(vendor, None, n) for n in [vendor] + _texts(f"{where}.aliases", v.get("aliases"))]
        descriptors += [(vendor, None, category, d) for d in
                        _texts(f"{where}.descriptors", v.get("descriptors")) + _texts(f"{where}.domains", v.get("domains"))]
        for j, p in enumerate(v.get("products") or []):
            pw = f"{where}.products[{j}]"
            _keys(pw, p, {"product", "category", "aliases", "descriptors"}, {"product", "category"})
            product = _text(f"{pw}.product", p["product"])
            pcat = _category(pw, p["category"], VENDOR_CATEGORIES)
            products.append((vendor, product, pcat))
            names += [(vendor, product, n) for n in [product] + _texts(f"{pw}.aliases", p.get("aliases"))]
            descriptors += [(vendor, product, pcat, d) for d in _texts(f"{pw}.descriptors", p.get("descriptors"))]
    prefixes = [(p,) for p in _texts(f"{path}: strip_prefixes", raw.get("strip_prefixes"))]
    return {
        "ai_vendor_products": _table(products, ["vendor", "product", "category"]),
        "ai_vendor_names": _table(names, ["vendor", "product", "name"]),
        "ai_vendor_descriptors": _table(descriptors, ["vendor", "product", "category", "descriptor"]),
        "ai_descriptor_prefixes": _table(prefixes, ["prefix"]),
    }


def read_services(path: Path) -> dict[str, pa.Table]:
    raw = yaml.safe_load(path.read_text()) or {}
    _keys(str(path), raw, {"services", "gpu_skus"}, {"services"})
    services, skus = [], []
    for i, s in enumerate(raw["services"] or []):
        where = f"{path}: services[{i}]"
        _keys(where, s, {"product", "provider", "category", "services"}, {"product", "provider", "services"})
        category = _category(where, s.get("category", "managed_ai"), CATEGORIES)
        services += [(_text(f"{where}.provider", s["provider"]), _text(f"{where}.product", s["product"]),
                      category, name) for name in _texts(f"{where}.services", s["services"])]
    for i, g in enumerate(raw.get("gpu_skus") or []):
        where = f"{path}: gpu_skus[{i}]"
        _keys(where, g, {"provider", "services", "patterns"}, {"provider", "services", "patterns"})
        provider = _text(f"{where}.provider", g["provider"])
        skus += [(provider, svc, pat) for svc in _texts(f"{where}.services", g["services"])
                 for pat in _texts(f"{where}.patterns", g["patterns"])]
    return {"ai_services": _table(services, ["provider", "product", "category", "service_pattern"]),
            "ai_gpu_skus": _table(skus, ["provider", "service_pattern", "sku_pattern"])}


def read_catalogue(folder: Path = RATE_CARDS) -> dict[str, pa.Table]:
    """Every reference table of the catalogue, by table name."""
    return ({"gpu_instances": read_gpu_instances(folder / "gpu_instances.csv")}
            | read_vendors(folder / "ai_vendors.yaml") | read_services(folder / "ai_services.yaml"))


def create_tables(con, tables: dict[str, pa.Table]) -> None:
    """CREATE OR REPLACE each table from its Arrow data (values never become SQL text)."""
    for name, data in tables.items():
        view = f"__arrow_{name}"
        con.register(view, data)
        try:
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "{view}"')
        finally:
            con.unregister(view)


def load_reference(con, config=None) -> None:
    """warehouse.REFERENCE_LOADERS entry: the catalogue's tables."""
    create_tables(con, read_catalogue())
