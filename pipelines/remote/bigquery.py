"""The GCP billing export read from BigQuery (google-cloud-bigquery), incrementally.

For a billing period (an invoice month) the table is asked for its newest export_time and row
count; only when those moved since the last landing is the month exported again, whole (GCP adds
late rows to a month; the month is the unit that replaces). Rows are written in the flattened
CSV form of the BigQuery console/CSV export (`service.description`, repeated records as JSON),
the same form `aispend normalize gcp-billing` reads from files.

BigQuery bills a query by the bytes of the columns it reads, over every partition it cannot
skip. Where the table is partitioned by ingestion time (as the billing export is: the
`_PARTITIONTIME` pseudo column), the month's download reads only the partitions from the
earliest one holding a row of that month, found by the watermark query (whose two narrow
columns are the only ones read over the whole table), and the streaming buffer (NULL). No
assumption about which time Google partitions by is needed; and should the download still find
fewer rows than the watermark counted, it is repeated over the whole table."""
from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from decimal import Decimal

import dagster as dg

from ..storage import DataRoot, Delivery
from . import SourceUnreachable


class BigQueryBillingExport(dg.ConfigurableResource):
    """Where the Cloud Billing export lives. `api_endpoint` points at another BigQuery API (a
    local emulator; anonymous credentials are used then); else application default credentials."""
    project: str
    dataset: str
    table: str
    location: str | None = None
    api_endpoint: str | None = None

    @property
    def table_id(self) -> str:
        return f"{self.project}.{self.dataset}.{self.table}"

    def client(self):
        from google.cloud import bigquery
        if self.api_endpoint:
            from google.api_core.client_options import ClientOptions
            from google.auth.credentials import AnonymousCredentials
            return bigquery.Client(project=self.project, location=self.location, credentials=AnonymousCredentials(),
                                   client_options=ClientOptions(api_endpoint=self.api_endpoint))
        return bigquery.Client(project=self.project, location=self.location)


# How long a failing call (refused, dropped mid-response, 5xx) is retried before the source is
# reported unreachable: an outage fails the night in seconds, not after the client's 10 minutes.
RETRY_SECONDS = 20.0


def _month(period: str) -> str:
    return period.replace("-", "")


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else k, v, out)
    elif isinstance(value, list):
        out[prefix] = json.dumps(value, default=_json_default)
    elif isinstance(value, float):
        out[prefix] = repr(value)  # shortest text that reads back to the same FLOAT64
    elif isinstance(value, (dt.datetime, dt.date)):
        out[prefix] = value.isoformat()
    else:
        out[prefix] = "" if value is None else value


def _json_default(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value))


def _columns(schema, prefix: str = "") -> list[str]:
    cols = []
    for field in schema:
        name = f"{prefix}{field.name}"
        if field.field_type in ("RECORD", "STRUCT") and field.mode != "REPEATED":
            cols += _columns(field.fields, name + ".")
        else:
            cols.append(name)
    return cols


def sync_bigquery(root: DataRoot, source: str, export: BigQueryBillingExport, period: str) -> list[tuple[Delivery, bool]]:
    """Land the invoice month `period` if the table has new rows for it since the last landing."""
    from google.api_core.exceptions import GoogleAPIError
    from google.cloud import bigquery
    state_file = root.landing(source) / "_bigquery_state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    month = [bigquery.ScalarQueryParameter("month", "STRING", _month(period))]
    retry = bigquery.DEFAULT_RETRY.with_timeout(RETRY_SECONDS)
    try:
        client = export.client()
        table = client.get_table(export.table_id, retry=retry)
        partitioned = table.time_partitioning is not None and table.time_partitioning.field is None
        first = ", min(_PARTITIONTIME) AS first_partition" if partitioned else ""
        mark = list(client.query(
            f"SELECT max(export_time) AS last_export, count(*) AS n{first} FROM `{export.table_id}` "
            f"WHERE invoice.month = @month", job_config=bigquery.QueryJobConfig(query_parameters=month),
            retry=retry, job_retry=None, timeout=20).result(retry=retry, timeout=120))[0]
        if not mark["n"]:
            return []
        watermark = f"{mark['last_export'].isoformat()}|{mark['n']}"
        if state.get(period) == watermark and root.latest_delivery(source, period):
            return []  # no row exported since the last landing
        staging = root.staging()
        try:
            target = staging / f"{export.table}-{_month(period)}.csv"
            first_partition = [bigquery.ScalarQueryParameter("first_partition", "TIMESTAMP", mark["first_partition"])
                               ] if partitioned else []
            written = _download(client, export.table_id, month + first_partition, partitioned, table.schema, target, retry)
            if partitioned and written < mark["n"]:  # a row of the month outside the partitions read
                _download(client, export.table_id, month, False, table.schema, target, retry)
            landed = root.land(source, period, [target])
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except (GoogleAPIError, OSError) as exc:
        where = export.api_endpoint or "BigQuery"
        raise SourceUnreachable(f"{export.table_id} at {where}: {exc}; the next run retries") from exc
    state[period] = watermark
    state_file.write_text(json.dumps(state, indent=2, sort_keys=True))
    return [landed]


def month_rows_sql(table_id: str, pruned: bool) -> str:
    """SQL: every row of the invoice month @month; `pruned`: read only the partitions from
    @first_partition on and the streaming buffer (whose rows have no partition yet)."""
    where = " AND (_PARTITIONTIME >= @first_partition OR _PARTITIONTIME IS NULL)" if pruned else ""
    return f"SELECT * FROM `{table_id}` WHERE invoice.month = @month{where}"


def _download(client, table_id: str, params: list, pruned: bool, schema, target, retry) -> int:
    """Write the month's rows to `target` as the flattened CSV export; returns the row count."""
    from google.cloud import bigquery
    rows = client.query(month_rows_sql(table_id, pruned), job_config=bigquery.QueryJobConfig(query_parameters=params),
                        retry=retry, job_retry=None).result(retry=retry, timeout=600)
    written = 0
    with open(target, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=_columns(schema), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            flat: dict = {}
            _flatten("", dict(row.items()), flat)
            writer.writerow(flat)
            written += 1
    return written
