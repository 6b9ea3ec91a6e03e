"""aispend's configuration file (YAML), validated with one clear error for the first wrong key."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from normalizers import expenses
from normalizers.normalize import SOURCES

from . import approved_tools
from .allocation_config import parse_allocation
from .config_error import ConfigError
from .remote.azure_blob import BlobConfig
from .remote.bigquery import BigQueryBillingExport
from .remote.s3 import S3Config
from reports import config as reports_config


@dataclass
class SourceConfig:
    inbox: Path  # folder where this source's exports are delivered
    s3: S3Config | None = None  # AWS CUR delivered to S3
    bigquery: BigQueryBillingExport | None = None  # the GCP billing export table
    blob: BlobConfig | None = None  # Azure Cost Management exports in Blob Storage


@dataclass
class Config:
    data_dir: Path
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    path: Path | None = None
    # Other top-level sections (allocation, approved tools, reports), each parsed by its own
    # module: SECTIONS[key](path, raw) -> typed value, or ConfigError naming the wrong key.
    sections: dict[str, object] = field(default_factory=dict)

    def options(self, source: str) -> dict:
        """The config a source's normalizer takes: its module's CONFIG_OPTIONS names, per
        FileMapping keyword, the section supplying it (expenses: formats <- expense_formats)."""
        wanted = getattr(SOURCES[source], "CONFIG_OPTIONS", {})
        return {arg: self.sections[key] for arg, key in wanted.items() if key in self.sections}


def _expense_formats(path: Path, raw) -> tuple:
    try:
        return expenses.parse_formats(raw)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from err


SECTIONS: dict[str, Callable[[Path, object], object]] = {
    "expense_formats": _expense_formats,
    "allocation": parse_allocation,
    approved_tools.SECTION: approved_tools.parse,
    reports_config.SECTION: reports_config.parse,
}
_TOP_KEYS = {"data_dir", "sources"}
_SOURCE_KEYS = {"inbox", "s3", "bigquery", "blob"}


def default_config(data_dir: Path) -> Config:
    data_dir = Path(data_dir).resolve()
    return Config(data_dir, {s: SourceConfig(data_dir / "inbox" / s) for s in SOURCES})


def load_config(path: Path | None, data_dir: Path | None = None) -> Config:
    """Read the config file; with none, everything lives under data_dir (default ./data)."""
    if path is None:
        return default_config(data_dir or Path("data"))
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    _unknown(path, "", raw, _TOP_KEYS | set(SECTIONS))
    base = path.resolve().parent
    root = Path(data_dir) if data_dir else base / str(raw.get("data_dir", "data"))
    cfg = default_config(root)
    cfg.path = path
    sources = raw.get("sources") or {}
    if not isinstance(sources, dict):
        raise ConfigError(f"{path}: 'sources' must be a mapping of source name to settings")
    for name, settings in sources.items():
        if name not in SOURCES:
            raise ConfigError(f"{path}: unknown source 'sources.{name}' (known: {', '.join(SOURCES)})")
        settings = settings or {}
        if not isinstance(settings, dict):
            raise ConfigError(f"{path}: 'sources.{name}' must be a mapping")
        _unknown(path, f"sources.{name}.", settings, _SOURCE_KEYS)
        if "inbox" in settings:
            if not isinstance(settings["inbox"], str):
                raise ConfigError(f"{path}: 'sources.{name}.inbox' must be a folder path (text)")
            cfg.sources[name].inbox = (base / settings["inbox"]).resolve()
        for key in _REMOTES:
            if key in settings:
                setattr(cfg.sources[name], key, _remote(path, name, key, settings[key]))
    for key, parse in SECTIONS.items():
        if key in raw:
            cfg.sections[key] = parse(path, raw[key])
    return cfg


# Remote delivery settings: section key -> (the one source it serves, its type, allowed, required).
_REMOTES = {
    "s3": ("aws-cur", S3Config, {"bucket", "prefix", "endpoint_url", "region", "profile"}, ("bucket",)),
    "bigquery": ("gcp-billing", BigQueryBillingExport,
                 {"project", "dataset", "table", "location", "api_endpoint", "storage_api_endpoint"},
                 ("project", "dataset", "table")),
    "blob": ("azure-cost", BlobConfig, {"container", "prefix", "connection_string_env"}, ("container",)),
}


def _remote(path: Path, name: str, key: str, raw):
    """One remote delivery section, validated: only text values, known keys, required ones set."""
    source, kind, allowed, required = _REMOTES[key]
    where = f"sources.{name}.{key}"
    if name != source:
        raise ConfigError(f"{path}: '{where}': only {source} is delivered this way")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: '{where}' must be a mapping with {', '.join(required)}")
    _unknown(path, f"{where}.", raw, allowed)
    for k, value in raw.items():
        if not isinstance(value, str):
            raise ConfigError(f"{path}: '{where}.{k}' must be text")
    for k in required:
        if k not in raw:
            raise ConfigError(f"{path}: '{where}.{k}' is required")
    if key == "bigquery" and "api_endpoint" in raw and "storage_api_endpoint" not in raw:
        raise ConfigError(f"{path}: '{where}.storage_api_endpoint' (host:port of its Storage Read API) "
                          f"is required with api_endpoint")
    return kind(**raw)


def _unknown(path: Path, prefix: str, raw: dict, allowed: set[str]) -> None:
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"{path}: unknown key '{prefix}{key}' (expected one of: {', '.join(sorted(allowed))})")

