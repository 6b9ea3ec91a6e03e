"""Azure Cost Management exports read from Blob Storage (azure-storage-blob), incrementally.

Exports write under <prefix>/<export>/<YYYYMMDD-YYYYMMDD>/: either one CSV per run (each a
complete month to date) or, for partitioned exports, a <run-id>/ folder with manifest.json
listing its part files. A period's newest run is its delivery; it is downloaded only when its
blobs' ETags changed, and lands whole (Azure overwrites month-to-date: the month is replaced)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass

from ..storage import DataRoot, Delivery, safe_name
from . import SourceUnreachable

_PERIOD_FOLDER = re.compile(r"(?:^|/)(\d{4})(\d{2})\d{2}-\d{8}/")


@dataclass(frozen=True)
class BlobConfig:
    container: str
    prefix: str = ""
    connection_string_env: str = "AZURE_STORAGE_CONNECTION_STRING"  # the secret stays in the environment


@dataclass(frozen=True)
class RemoteRun:
    period: str
    names: tuple[str, ...]
    etags: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256("|".join(self.names + self.etags).encode()).hexdigest()[:16]


def container_client(cfg: BlobConfig):
    from azure.storage.blob import BlobServiceClient
    conn = os.environ.get(cfg.connection_string_env)
    if not conn:
        raise SourceUnreachable(f"environment variable {cfg.connection_string_env} is not set "
                                f"(the storage account's connection string)")
    service = BlobServiceClient.from_connection_string(conn, connection_timeout=5, read_timeout=30,
                                                       retry_total=3)
    return service.get_container_client(cfg.container)


def find_runs(container, cfg: BlobConfig) -> dict[str, RemoteRun]:
    """The newest run of every billing period under the prefix."""
    by_period: dict[str, list] = {}
    for blob in container.list_blobs(name_starts_with=cfg.prefix):
        m = _PERIOD_FOLDER.search(blob.name)
        if m:
            by_period.setdefault(f"{m.group(1)}-{m.group(2)}", []).append(blob)
    runs = {}
    for period, blobs in by_period.items():
        manifests = [b for b in blobs if b.name.endswith("manifest.json")]
        if manifests:
            newest = max(manifests, key=lambda b: (b.last_modified, b.name))
            doc = json.loads(container.download_blob(newest.name).readall())
            folder = newest.name.rsplit("/", 1)[0] + "/"
            names = [b["blobName"] for b in doc.get("blobs", [])]
            names = [n if "/" in n else folder + n for n in names]
            props = {b.name: b for b in blobs}
            chosen = [props[n] for n in names if n in props]
        else:
            data = [b for b in blobs if b.name.endswith((".csv", ".csv.gz", ".parquet"))]
            chosen = [max(data, key=lambda b: (b.last_modified, b.name))] if data else []
        if chosen:
            runs[period] = RemoteRun(period, tuple(b.name for b in chosen), tuple(b.etag for b in chosen))
    return runs


def sync_blob(root: DataRoot, source: str, cfg: BlobConfig, period: str | None = None) -> list[tuple[Delivery, bool]]:
    from azure.core.exceptions import AzureError
    state_file = root.landing(source) / "_blob_state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    landed = []
    try:
        container = container_client(cfg)
        for p, run in sorted(find_runs(container, cfg).items()):
            if period is not None and p != period:
                continue
            if state.get(p) == run.fingerprint and root.latest_delivery(source, p):
                continue
            landed.append(_download_and_land(container, root, source, run))
            state[p] = run.fingerprint
            state_file.parent.mkdir(parents=True, exist_ok=True)
            state_file.write_text(json.dumps(state, indent=2, sort_keys=True))
    except (AzureError, OSError) as exc:
        raise SourceUnreachable(f"container {cfg.container}/{cfg.prefix}: {str(exc).splitlines()[0]}; "
                                f"nothing was landed from this delivery, the next run retries it") from exc
    return landed


def _download_and_land(container, root: DataRoot, source: str, run: RemoteRun):
    staging = root.staging()
    try:
        files = []
        for name in run.names:
            target = staging / safe_name(name)
            # decompress=False: a .csv.gz blob stays the bytes that were delivered.
            downloader = container.download_blob(name, decompress=False)
            with open(target, "wb") as fh:
                downloader.readinto(fh)
            if target.stat().st_size != downloader.size:
                raise SourceUnreachable(f"{name}: download incomplete ({target.stat().st_size} of {downloader.size} bytes)")
            files.append(target)
        return root.land(source, run.period, files)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
