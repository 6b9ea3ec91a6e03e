"""The `aispend` command line (DESIGN.md section 7). Exit 0 on success; on bad input one
clear line naming file, row and column, and a non-zero exit."""
from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import click

from normalizers.errors import BadInputError

BAD_INPUT_EXIT = 2


def _fail(message: str, code: int = BAD_INPUT_EXIT):
    click.echo(f"aispend: error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """aispend: AI-FinOps over billing exports.

    \b
    Typical use:
      aispend demo                      # sample org, end to end, in ./data
      aispend run --config aispend.yaml # the nightly job, by hand
      aispend normalize aws-cur cur.csv.gz -o focus/
      aispend validate focus/billing_period=2026-10
      aispend report --period 2026-10  # showback reports (dry run; --send to mail)
    """


SOURCE_NAMES = ["aws-cur", "gcp-billing", "azure-cost", "openai", "anthropic", "invoices", "expenses"]


@main.command()
@click.argument("source", type=click.Choice(SOURCE_NAMES))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path),
              help="Folder for FOCUS Parquet, one billing_period=YYYY-MM/ folder per month.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="aispend.yaml, for the expense formats mapped under 'expense_formats:'.")
def normalize(source, inputs, out, config_path):
    """Turn one export (all files of one delivery) into FOCUS 1.2 Parquet.

    \b
    SOURCE  aws-cur:     legacy CUR (CSV, CSV.gz) or CUR 2.0 (Parquet, CSV)
            gcp-billing: BigQuery billing export as CSV (flattened), Parquet or JSON lines (nested)
            azure-cost:  Cost Management export (EA/MCA, actual/amortized, or FOCUS), CSV
            openai:      Admin API pages (JSON): organization/costs and usage/completions
            anthropic:   Admin API pages (JSON): cost_report and usage_report/messages
            invoices:    invoice CSV of any AI vendor (vendor, invoice_id, invoice_date, ...)
            expenses:    SAP Concur, Expensify, Ramp, Brex CSV exports (format detected per
                         file from its header) or a format mapped in the config
    A folder stands for its files (one delivery, e.g. a month of cost and usage pages).
    Existing months in OUT are replaced whole; nothing is written if the input is bad.
    """
    import time
    from normalizers.normalize import connect, normalize as run
    from pipelines.config_error import ConfigError
    try:
        # The config module pulls in Dagster (its source resources): only when a config is given.
        options = _load_config(config_path).options(source) if config_path else {}
    except ConfigError as err:
        _fail(str(err))
    started = time.perf_counter()
    con = connect()
    if sys.stderr.isatty():
        con.execute("SET enable_progress_bar = true")
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".staging-{dt.datetime.now().strftime('%H%M%S%f')}"
    try:
        result = run(source, _delivery_files(inputs), staging, con, options)
    except BadInputError as err:
        shutil.rmtree(staging, ignore_errors=True)
        _fail(str(err))
    for period, folder in result.partitions.items():
        target = out / f"billing_period={period}"
        shutil.rmtree(target, ignore_errors=True)
        folder.rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    secs = time.perf_counter() - started
    click.echo(f"{result.rows:,} FOCUS rows from {len(result.files)} file(s) in {secs:.1f}s "
               f"({result.rows / secs:,.0f} rows/s) -> {out} [{', '.join(result.partitions)}]")


def _load_config(path: Path):
    from pipelines.config import load_config
    return load_config(path)


def _delivery_files(inputs) -> list[Path]:
    """The files given, a folder standing for its files (a delivery of several pages)."""
    out = []
    for p in inputs:
        out += sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")) if p.is_dir() else [p]
    return out


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--official/--no-official", default=False,
              help="Also run the FinOps Foundation's focus-validator (needs scripts/make-validator-venv.sh).")
def validate(files, official):
    """Check FOCUS Parquet files (or partition folders: their files) against the FOCUS 1.2
    contract; non-zero exit on failure.

    Every rule is checked on every row, so a single bad value is reported with the file and
    source row it came from."""
    import duckdb
    from normalizers.normalize import parquet_files
    from pipelines.ingest import schema_check
    con = duckdb.connect()
    empty = [p for p in files if p.is_dir() and not any(p.glob("*.parquet"))]
    for p in empty:
        click.echo(f"FAIL {p}\n     no Parquet files in this folder")
    bad = bool(empty)
    for f in [f for p in files for f in parquet_files(p)]:
        outcome = schema_check(con, f)
        problems = [] if outcome.passed else outcome.detail.split("; ")
        if official and not problems:
            from normalizers.conformance import run_validator
            result = run_validator(f)
            problems += [f"focus-validator {rule}: {msg}" for rule, msg in result.failed.items()]
        bad |= bool(problems)
        click.echo(f"{'FAIL' if problems else 'ok  '} {f}")
        for p in problems:
            click.echo(f"     {p}")
    sys.exit(1 if bad else 0)


GENERATORS = {"aws-cur": "aws_cur", "gcp-billing": "gcp_billing", "azure-cost": "azure_cost",
              "openai": "openai", "anthropic": "anthropic", "invoices": "invoices", "expenses": "expenses"}


def _default_format(source: str, out: Path, formats: tuple[str, ...]) -> str:
    for suffix in ("parquet", "json"):  # the format the file name asks for (cur2-parquet...)
        if out.name.endswith(f".{suffix}"):
            return next((f for f in formats if suffix in f), formats[0])
    return formats[0]


@main.command()
@click.argument("source", type=click.Choice(SOURCE_NAMES))
@click.option("--rows", type=int, default=None, help="Line items to write [default: 100,000; openai, "
              "anthropic, invoices: a realistic month; expenses: 300].")
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path),
              help="File to write (.csv, .csv.gz or .parquet); openai, anthropic, expenses: a folder (one delivery).")
@click.option("--period", default=None, help="Billing period YYYY-MM [default: last month].")
@click.option("--format", "fmt", default=None,
              help="aws-cur: legacy-csv, cur2-parquet, cur2-csv; gcp-billing: csv, parquet; azure-cost: "
                   "ea-actual, ea-amortized, mca-actual, mca-amortized, focus; expenses: concur-brex, concur-ramp, "
                   "all [default: from the file name].")
@click.option("--seed", type=int, default=42, show_default=True)
def generate(source, rows, out, period, fmt, seed):
    """Write a realistic synthetic export (GPU instances and AI services, commitments, credits,
    refunds, tax, messy tags) for tests, the demo and benchmarks."""
    import importlib
    import inspect
    module = importlib.import_module(f"pipelines.generators.{GENERATORS[source]}")
    period = period or _last_month()
    rows = rows if rows is not None else getattr(module, "DEFAULT_ROWS", 100_000)
    fmt = fmt or _default_format(source, out, module.FORMATS)
    if fmt not in module.FORMATS:
        _fail(f"--format {fmt} is not one of {', '.join(module.FORMATS)} for {source}", 2)
    extra = {"progress": sys.stderr.isatty()} if "progress" in inspect.signature(module.generate).parameters else {}
    if rows is None and source not in ("openai", "anthropic", "invoices"):
        rows = 100_000
    module.generate(out, rows, period, seed, fmt, **extra)
    click.echo(f"{f'{rows:,} line items' if rows else 'a month'} ({source} {fmt}, {period}) -> {out}")


def _last_month(today: dt.date | None = None) -> str:
    first = (today or dt.date.today()).replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


@main.group("rate-cards")
def rate_cards():
    """The rate cards under rate_cards/ (token prices, versioned with dates)."""


@rate_cards.command("update")
@click.option("--file", "path", type=click.Path(path_type=Path), default=None,
              help="Token price CSV [default: rate_cards/model_prices.csv].")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
def rate_cards_update(path, dry_run):
    """Import token prices from the installed genai-prices package (offline) into the dated
    token price CSV, and print what changed. Upgrade the package for newer prices."""
    from normalizers.token_prices import MODEL_PRICES
    from pipelines.token_prices_update import update
    try:
        report = update(path or MODEL_PRICES, dry_run=dry_run)
    except BadInputError as err:
        _fail(str(err))
    for line in report.lines():
        click.echo(line)


@main.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="aispend.yaml [default: none; everything under --data].")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None,
              help="Data root [default: the config's data_dir, or ./data].")
@click.option("--period", "periods", multiple=True,
              help="Billing period YYYY-MM; repeatable [default: this month and the last, as nightly].")
def run(config_path, data_dir, periods):
    """Run the nightly Dagster job in process: land new deliveries, normalize, check, publish
    FOCUS partitions, refresh warehouse.duckdb. Re-running changes nothing."""
    from pipelines.runner import run_nightly
    from pipelines.config import ConfigError
    try:
        summary = run_nightly(config_path, data_dir, list(periods) or None)
    except ConfigError as err:
        _fail(str(err))
    for line in summary.lines:
        click.echo(line)
    if summary.errors:
        for e in summary.errors:
            click.echo(f"aispend: error: {e}", err=True)
        sys.exit(BAD_INPUT_EXIT)


@main.command()
@click.option("--period", required=True, help="Billing period YYYY-MM.")
@click.option("--send/--dry-run", default=False,
              help="Send over SMTP, or only write the .eml and .html files [default: --dry-run].")
@click.option("--resend", is_flag=True, help="Send, including the reports already sent for this month.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="aispend.yaml (its 'reports:' section: recipients, budgets, SMTP).")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None,
              help="Data root [default: the config's data_dir, or ./data].")
def report(period, send, resend, config_path, data_dir):
    """Render the monthly showback reports (every team, and the finance overview) from the
    warehouse into DATA/reports/YYYY-MM/ (.html for the browser, .eml as mailed) and, with
    --send, e-mail them. A failed send is retried, then reported; the others still go."""
    from pipelines.config import ConfigError, load_config
    from reports.run import make_reports
    try:
        result = make_reports(load_config(config_path, data_dir), period, send=send or resend, resend=resend)
    except ConfigError as err:
        _fail(str(err))
    for line in result.lines():
        click.echo(line)
    if result.failed:
        sys.exit(1)


@main.command()
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=Path("data"), show_default=True)
@click.option("--rows", type=int, default=50_000, show_default=True, help="Line items per month.")
def demo(data_dir, rows):
    """A sample organisation end to end: generate two months of AWS exports into the inbox, run
    the nightly job on them, and print where the warehouse is with a one-screen summary."""
    from pipelines.demo import run_demo
    for line in run_demo(data_dir, rows):
        click.echo(line)


if __name__ == "__main__":
    main()
