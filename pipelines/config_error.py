"""The one error type for a wrong configuration, and the value checks several config sections
share (its own module: the section parsers use it and config.py imports them)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path


class ConfigError(ValueError):
    pass


def amount(path: Path, where: str, value) -> Decimal:
    """A money amount (budget) from YAML, exact: a number or numeric text, not below 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{path}: '{where}' must be a number")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{path}: '{where}' must be a number, got {value!r}") from None
    if not result.is_finite() or result < 0:
        raise ConfigError(f"{path}: '{where}' must be a number not below 0")
    return result
