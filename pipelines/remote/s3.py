"""AWS CUR deliveries from S3 (boto3).

Both layouts are found through their manifests, which list a delivery's files:
- legacy CUR:  <prefix>/<report>/<YYYYMMDD-YYYYMMDD>/<report>-Manifest.json  (reportKeys, assemblyId)
- CUR 2.0 / Data Exports: <prefix>/<export>/metadata/BILLING_PERIOD=<YYYY-MM>/<export>-Manifest.json
  (dataFiles as s3:// URLs, executionId)
A period's newest manifest is its current delivery. A delivery is downloaded only when its files'
ETags differ from the last one landed, then lands (and later replaces its billing period) whole.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass

from ..storage import DataRoot, Delivery, safe_name
from . import SourceUnreachable


@dataclass(frozen=True)
class S3Config:
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None  # e.g. a local S3-compatible server
    region: str | None = None
    profile: str | None = None  # else credentials come from the environment


def client(cfg: S3Config):
    import boto3
    from botocore.config import Config
    session = boto3.Session(profile_name=cfg.profile) if cfg.profile else boto3.Session()
    return session.client("s3", endpoint_url=cfg.endpoint_url, region_name=cfg.region,
                          config=Config(retries={"max_attempts": 3, "mode": "standard"},
                                        connect_timeout=5, read_timeout=30))


@dataclass(frozen=True)
class RemoteDelivery:
    period: str
    manifest_key: str
    keys: tuple[str, ...]
    etags: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256("|".join(self.keys + self.etags).encode()).hexdigest()[:16]


def _period_from_manifest(doc: dict) -> str:
    start = str(doc["billingPeriod"]["start"])  # "20261001T000000.000Z" or "2026-10-01T00:00:00.000Z"
    digits = start.replace("-", "")
    return f"{digits[:4]}-{digits[4:6]}"


def _keys_from_manifest(doc: dict, bucket: str) -> list[str]:
    if "reportKeys" in doc:
        return list(doc["reportKeys"])
    keys = []
    for url in doc.get("dataFiles", []):
        prefix = f"s3://{bucket}/"
        keys.append(url[len(prefix):] if url.startswith(prefix) else url)
    return keys


def find_deliveries(s3, cfg: S3Config) -> dict[str, RemoteDelivery]:
    """The current delivery of every billing period under the prefix (newest manifest wins)."""
    manifests = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=cfg.bucket, Prefix=cfg.prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("-Manifest.json"):
                manifests.append(obj)
    current: dict[str, tuple] = {}
    for obj in sorted(manifests, key=lambda o: (o["LastModified"], o["Key"])):
        doc = json.loads(s3.get_object(Bucket=cfg.bucket, Key=obj["Key"])["Body"].read())
        keys = _keys_from_manifest(doc, cfg.bucket)
        if keys:
            current[_period_from_manifest(doc)] = (obj["Key"], keys)
    out = {}
    for period, (manifest_key, keys) in current.items():
        etags = tuple(s3.head_object(Bucket=cfg.bucket, Key=k)["ETag"] for k in keys)
        out[period] = RemoteDelivery(period, manifest_key, tuple(keys), etags)
    return out


def sync_s3(root: DataRoot, source: str, cfg: S3Config, period: str | None = None) -> list[tuple[Delivery, bool]]:
    """Download new or changed deliveries (for one period, or all) into landing."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError
    from s3transfer.exceptions import RetriesExceededError
    s3 = client(cfg)
    state_file = root.landing(source) / "_s3_state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    landed = []
    try:
        deliveries = find_deliveries(s3, cfg)
        for p, remote in sorted(deliveries.items()):
            if period is not None and p != period:
                continue
            if state.get(p) == remote.fingerprint and root.latest_delivery(source, p):
                continue  # nothing new: no download, no re-processing
            landed.append(_download_and_land(s3, root, source, cfg, remote))
            state[p] = remote.fingerprint
            state_file.parent.mkdir(parents=True, exist_ok=True)
            state_file.write_text(json.dumps(state, indent=2, sort_keys=True))
    except (Boto3Error, BotoCoreError, ClientError, RetriesExceededError, OSError) as exc:
        where = cfg.endpoint_url or "AWS"
        raise SourceUnreachable(f"s3://{cfg.bucket}/{cfg.prefix} at {where}: {exc}; nothing was landed "
                                f"from this delivery, the next run retries it") from exc
    return landed


def _download_and_land(s3, root: DataRoot, source: str, cfg: S3Config, remote: RemoteDelivery):
    """Download to a private folder, check every file's size, then land the delivery whole."""
    staging = root.staging()
    try:
        files = []
        for key in remote.keys:
            target = staging / safe_name(key)
            s3.download_file(cfg.bucket, key, str(target))
            expected = s3.head_object(Bucket=cfg.bucket, Key=key)["ContentLength"]
            if target.stat().st_size != expected:
                raise SourceUnreachable(f"{key}: download incomplete ({target.stat().st_size} of {expected} bytes)")
            files.append(target)
        return root.land(source, remote.period, files)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
