"""The data root on disk (DESIGN.md section 3).

landing/<source>/<period>/<delivery>/   raw deliveries, never edited, with checksums
quarantine/<source>/<file>              rejected input, beside <file>.reason.json
focus/provider=<p>/billing_period=<m>   a link to the partition's current version, swapped atomically
.focus-versions/provider=<p>/billing_period=<m>/<version>/
                                        its Parquet files (<version>-<n>.parquet) and _published.json
warehouse.duckdb                        analyst views over the Parquet
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from normalizers.errors import BadInputError
from normalizers.normalize import parquet_files


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    """Flush a file's or a folder's (its entries') writes to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def provider_slug(provider: str) -> str:
    """FOCUS ProviderName -> partition folder name: "Google Cloud" -> "google-cloud"."""
    return "-".join(provider.lower().split())


def safe_name(name: str) -> str:
    """A file name from an export, reduced to its last component: never a path out of the root."""
    base = Path(name.replace("\\", "/")).name
    if base in ("", ".", ".."):
        raise ValueError(f"unsafe file name from an export: {name!r}")
    return base


@dataclass(frozen=True)
class Delivery:
    source: str
    period: str
    delivery_id: str
    folder: Path

    @property
    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith("_"))


class DataRoot:
    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    # -- landing ---------------------------------------------------------------------------
    def landing(self, source: str, period: str | None = None) -> Path:
        p = self.root / "landing" / source
        return p / period if period else p

    def land(self, source: str, period: str, files: list[Path],
             digests: list[str] | None = None, name: str | None = None) -> tuple[Delivery, bool]:
        """Copy one delivery's files into landing; returns (delivery, is_new). The delivery id
        is the checksum of its content, so the same export delivered twice lands once. `name`
        (the inbox entry it came from) says which earlier delivery a new one supersedes, for
        sources whose deliveries accumulate (see current_deliveries)."""
        digests = sorted(zip(digests or [sha256(f) for f in files], [safe_name(f.name) for f in files], files))
        delivery_id = hashlib.sha256("".join(d for d, _, _ in digests).encode()).hexdigest()[:16]
        folder = self.landing(source, period) / delivery_id
        if (folder / "_delivery.json").exists():
            return Delivery(source, period, delivery_id, folder), False
        tmp = folder.with_name(f".{delivery_id}.{uuid.uuid4().hex}")
        tmp.mkdir(parents=True)
        for _, file_name, src in digests:
            shutil.copy2(src, tmp / file_name)
        # after every delivery landed so far (a count would repeat a number once a rejected
        # delivery's folder is removed, and make "the latest" ambiguous)
        order = 1 + max((json.loads(m.read_text())["sequence"]
                         for m in self.landing(source, period).glob("*/_delivery.json")), default=-1)
        (tmp / "_delivery.json").write_text(json.dumps(
            {"delivery": delivery_id, "sequence": order, "name": name, "files": {n: d for d, n, _ in digests}},
            indent=2))
        os.replace(tmp, folder)
        return Delivery(source, period, delivery_id, folder), True

    def latest_delivery(self, source: str, period: str) -> Delivery | None:
        found = self.current_deliveries(source, period, accumulate=False)
        return found[0] if found else None

    def current_deliveries(self, source: str, period: str, accumulate: bool) -> list[Delivery]:
        """What a billing period is made of. Cloud exports restate the whole month: the latest
        delivery replaces every earlier one. Invoices and expense exports accumulate (one file per
        vendor bill or per expense tool): the latest delivery *of each name* counts."""
        base = self.landing(source, period)
        if not base.is_dir():
            return []
        latest: dict[str, tuple[int, Path]] = {}
        for folder in base.iterdir():
            meta = folder / "_delivery.json"
            if not meta.exists():
                continue
            record = json.loads(meta.read_text())
            key = (record.get("name") or folder.name) if accumulate else ""
            if key not in latest or record["sequence"] > latest[key][0]:
                latest[key] = (record["sequence"], folder)
        return [Delivery(source, period, folder.name, folder) for _, folder in sorted(latest.values())]

    # -- quarantine ------------------------------------------------------------------------
    def quarantine_dir(self, source: str) -> Path:
        return self.root / "quarantine" / source

    def quarantine(self, source: str, files: list[Path], error: BadInputError) -> list[Path]:
        """Move rejected files aside, each with a reason file."""
        qdir = self.quarantine_dir(source)
        qdir.mkdir(parents=True, exist_ok=True)
        moved = []
        for f in files:
            target = qdir / safe_name(f.name)
            digest = sha256(f)
            if target.exists() and sha256(target) != digest:
                target = qdir / f"{digest[:12]}-{safe_name(f.name)}"
            shutil.move(str(f), target)
            reason = error.as_dict() | {"sha256": digest, "quarantined_file": target.name}
            target.with_name(target.name + ".reason.json").write_text(json.dumps(reason, indent=2))
            moved.append(target)
        return moved

    def quarantined_digests(self, source: str) -> set[str]:
        qdir = self.quarantine_dir(source)
        if not qdir.is_dir():
            return set()
        return {json.loads(p.read_text()).get("sha256") for p in qdir.glob("*.reason.json")}

    # -- FOCUS partitions ------------------------------------------------------------------
    def focus_root(self) -> Path:
        return self.root / "focus"

    def partition(self, provider: str, period: str) -> Path:
        return self.focus_root() / f"provider={provider_slug(provider)}" / f"billing_period={period}"

    def staging(self) -> Path:
        p = self.root / ".staging" / uuid.uuid4().hex
        p.mkdir(parents=True)
        return p

    def published(self, provider: str, period: str) -> dict | None:
        meta = self.partition(provider, period) / "_published.json"
        return json.loads(meta.read_text()) if meta.exists() else None

    def publish(self, provider: str, period: str, folder: Path, record: dict) -> Path:
        """Replace a partition's data atomically: readers see the old files or the new, never a
        mix nor a half-written set. A partition holds several files (bounded writer memory,
        normalizers/normalize.py), which one rename cannot swap; so its files and its record go
        into a new version folder, and the partition is a symbolic link to it, replaced by one
        rename. File names carry the version: a reader holding names from before the swap gets
        "no such file" rather than the new version's file of the same name. Publishes of one
        month wait for each other (a lock file beside its versions)."""
        link = self.partition(provider, period)
        versions = self.root / ".focus-versions" / link.parent.name / link.name
        versions.mkdir(parents=True, exist_ok=True)
        with open(versions / ".lock", "w") as lock:
            # one publish of a month at a time (a manual run beside the nightly one): the other's
            # clean-up would delete the version this one links
            fcntl.flock(lock, fcntl.LOCK_EX)
            version = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
            target = versions / version
            target.mkdir()
            for i, f in enumerate(parquet_files(folder)):
                shutil.move(f, target / f"{version}-{i}.parquet")  # staging is under the root: a rename
            (target / "_published.json").write_text(json.dumps(record, indent=2, sort_keys=True))
            for f in [*target.iterdir(), target]:  # on disk before the link points at them (power loss)
                _fsync(f)
            link.parent.mkdir(parents=True, exist_ok=True)
            # made outside focus/ (DuckDB's globs match hidden names); it points where it will be
            tmp = versions / f".link-{version}"
            os.symlink(os.path.relpath(target, link.parent), tmp, target_is_directory=True)
            if link.is_dir() and not link.is_symlink():
                # a partition written as a plain folder (by aispend before versions): moved aside
                # first, so the month is missing between these two renames, once
                os.rename(link, versions / f"{version}-before")
            os.replace(tmp, link)
            _fsync(link.parent)
            for old in versions.iterdir():  # readers now resolve the link to the new version only
                if old.is_symlink():  # a link left by a publish that stopped before its rename
                    old.unlink()
                elif old.is_dir() and old != target:
                    shutil.rmtree(old)
        return target

    def focus_glob(self) -> str:
        return str(self.focus_root() / "*" / "*" / "*.parquet")

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"
