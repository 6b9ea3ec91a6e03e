"""Dagster orchestration, storage layout and the `aispend` command line."""
