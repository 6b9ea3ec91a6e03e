"""The GCP billing export read from BigQuery (google-cloud-bigquery), incrementally.

For a billing period (an invoice month) the table is asked for its newest export_time and row
count; only when those moved since the last landing is the month exported again, whole (GCP adds
late rows to a month; the month is the unit that replaces). The month's rows are read with the
BigQuery Storage Read API, which sends Arrow batches (against the emulator 45k rows/s; the
query API's JSON pages, turned into Python rows by the client, gave 2.1k), and land as Parquet,
nested as in BigQuery's own Parquet export: the form `aispend normalize gcp-billing` reads from
files. A read cut off mid-stream resumes where it stopped; a server that stays away fails the
source after RETRY_SECONDS.

BigQuery bills by the bytes of the columns read, over every partition that cannot be skipped.
Where the table is partitioned by ingestion time (as the billing export is: the
`_PARTITIONTIME` pseudo column), the month's read takes only the partitions from the earliest
one holding a row of that month, found by the watermark query (whose two narrow columns are the
only ones read over the whole table), and the streaming buffer (NULL). No assumption about which
time Google partitions by is needed; and should the read still find fewer rows than the
watermark counted, it is repeated over the whole table."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import dagster as dg

from ..storage import DataRoot, Delivery
from . import SourceUnreachable


class BigQueryBillingExport(dg.ConfigurableResource):
    """Where the Cloud Billing export lives. `api_endpoint` points at another BigQuery API (a
    local emulator; anonymous credentials are used then), and `storage_api_endpoint` (host:port)
    at its Storage Read API; else Google's, with application default credentials (roles: BigQuery
    Data Viewer on the table, Job User and Read Session User on the project)."""
    project: str
    dataset: str
    table: str
    location: str | None = None
    api_endpoint: str | None = None
    storage_api_endpoint: str | None = None

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

    def read_client(self):
        """A BigQuery Storage Read API client (plain gRPC to a local emulator: config.py makes
        sure storage_api_endpoint comes with api_endpoint)."""
        from google.cloud import bigquery_storage
        if self.api_endpoint:
            import grpc
            from google.auth.credentials import AnonymousCredentials
            from google.cloud.bigquery_storage_v1.services.big_query_read.transports import BigQueryReadGrpcTransport
            # Arrow batches can exceed gRPC's default 4 MB message (Google's own client lifts it too).
            channel = grpc.insecure_channel(self.storage_api_endpoint, options=[("grpc.max_receive_message_length", -1)])
            return bigquery_storage.BigQueryReadClient(
                transport=BigQueryReadGrpcTransport(channel=channel, credentials=AnonymousCredentials()))
        if self.storage_api_endpoint:
            from google.api_core.client_options import ClientOptions
            return bigquery_storage.BigQueryReadClient(client_options=ClientOptions(api_endpoint=self.storage_api_endpoint))
        return bigquery_storage.BigQueryReadClient()


# How long a failing call (refused, dropped mid-response, 5xx) is retried before the source is
# reported unreachable: an outage fails the night in seconds, not after the client's 10 minutes.
RETRY_SECONDS = 20.0


def _month(period: str) -> str:
    return period.replace("-", "")


def sync_bigquery(root: DataRoot, source: str, export: BigQueryBillingExport, period: str) -> list[tuple[Delivery, bool]]:
    """Land the invoice month `period` if the table has new rows for it since the last landing."""
    from google.api_core import retry as api_retry
    from google.api_core.exceptions import GoogleAPIError, ServiceUnavailable
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
            target = staging / f"{export.table}-{_month(period)}.parquet"
            reader = export.read_client()
            read_retry = api_retry.Retry(predicate=api_retry.if_exception_type(ServiceUnavailable),
                                         initial=0.2, maximum=2.0, timeout=RETRY_SECONDS)
            first = (mark["first_partition"] or dt.datetime.max.replace(tzinfo=dt.timezone.utc)) if partitioned else None
            written = _read_month(reader, export, period, first, target, read_retry)
            if partitioned and written < mark["n"]:  # a row of the month outside the partitions read
                written = _read_month(reader, export, period, None, target, read_retry)
            if not written:
                return []  # the month's rows were deleted since they were counted: the next run looks again
            landed = root.land(source, period, [target])
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except (GoogleAPIError, OSError) as exc:
        where = export.api_endpoint or "BigQuery"
        raise SourceUnreachable(f"{export.table_id} at {where}: {exc}; the next run retries") from exc
    state[period] = watermark
    state_file.write_text(json.dumps(state, indent=2, sort_keys=True))
    return [landed]


def month_filter(period: str, first_partition: dt.datetime | None) -> str:
    """The Storage Read API row restriction (text, not parameters: the API takes none) for the
    rows of invoice month `period` (YYYY-MM, checked); with `first_partition`: only the partitions
    from it on and the streaming buffer, whose rows have no partition yet."""
    if not re.fullmatch(r"\d{4}-\d{2}", period):
        raise ValueError(f"not a billing period (YYYY-MM): {period!r}")
    where = f'invoice.month = "{_month(period)}"'
    if first_partition is not None:
        stamp = first_partition.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
        where += f' AND (_PARTITIONTIME >= TIMESTAMP("{stamp}+00") OR _PARTITIONTIME IS NULL)'
    return where


def _read_month(reader, export: BigQueryBillingExport, period: str, first_partition, target, retry) -> int:
    """Write the month's rows to `target` (Parquet, a row group per Arrow batch); returns the row
    count (0: nothing written). One stream: the rows arrive in order, and a stream cut off resumes
    at its offset (the client's reconnect), each attempt bounded by `retry`."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from google.cloud.bigquery_storage_v1 import types
    session = reader.create_read_session(
        parent=f"projects/{export.project}", max_stream_count=1, retry=retry, timeout=60,
        read_session=types.ReadSession(
            table=f"projects/{export.project}/datasets/{export.dataset}/tables/{export.table}",
            data_format=types.DataFormat.ARROW,
            read_options=types.ReadSession.TableReadOptions(row_restriction=month_filter(period, first_partition))))
    if not session.streams:
        return 0  # no row matches
    schema = pa.ipc.read_schema(pa.py_buffer(session.arrow_schema.serialized_schema))
    written, writer = 0, pq.ParquetWriter(target, schema, compression="zstd")
    try:
        for stream in session.streams:
            for message in reader.read_rows(stream.name, retry=retry):
                batch = pa.ipc.read_record_batch(pa.py_buffer(message.arrow_record_batch.serialized_record_batch), schema)
                writer.write_batch(batch)
                written += batch.num_rows
    finally:
        writer.close()
    return written
