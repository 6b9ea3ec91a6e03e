"""The config section `reports`: who receives the monthly showback reports, the teams' budgets,
and how mail is sent. Secrets never live here: the SMTP credentials are read from environment
variables whose NAMES the config gives.

    reports:
      sender: finops@example.com
      finance: [cfo@example.com]           # the finance overview's recipients
      teams:
        search:
          recipients: [search-lead@example.com]
          budget: 20000                    # monthly, in `currency`
          currency: USD                    # default USD
      smtp:
        host: smtp.example.com
        port: 587                          # default 587
        starttls: true                     # default true
        username_env: AISPEND_SMTP_USER    # names of environment variables, optional
        password_env: AISPEND_SMTP_PASSWORD
        ca_file: relay-ca.pem              # optional: a private CA (path beside the config)
      schedule_day: 3                      # day of the month the previous month's reports go out
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from pipelines.config_error import ConfigError, amount

SECTION = "reports"
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class TeamSettings:
    recipients: tuple[str, ...] = ()
    budget: Decimal | None = None
    currency: str = "USD"


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 587
    starttls: bool = True
    username_env: str | None = None
    password_env: str | None = None
    ca_file: str | None = None  # a private CA for the relay's certificate (default: the system's)

    def credentials(self) -> tuple[str, str] | None:
        """(user, password) from the environment, or None when no username variable is named.
        A named variable that is unset is an error (mail would go unauthenticated)."""
        if not self.username_env:
            return None
        missing = [n for n in (self.username_env, self.password_env) if n and n not in os.environ]
        if missing:
            raise ConfigError(f"reports.smtp: environment variable(s) {', '.join(missing)} not set")
        return os.environ[self.username_env], os.environ.get(self.password_env or "", "")


@dataclass(frozen=True)
class ReportsConfig:
    sender: str = "aispend@localhost"
    finance: tuple[str, ...] = ()
    teams: dict[str, TeamSettings] = field(default_factory=dict)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    schedule_day: int = 3

    def team(self, name: str) -> TeamSettings:
        return self.teams.get(name, TeamSettings())


_TOP = {"sender", "finance", "teams", "smtp", "schedule_day"}
_TEAM = {"recipients", "budget", "currency"}
_SMTP = {"host", "port", "starttls", "username_env", "password_env", "ca_file"}


def parse(path: Path, raw) -> ReportsConfig:
    """Validate the section: one ConfigError naming the first wrong key or value."""
    if raw is None:
        return ReportsConfig()
    _mapping(path, SECTION, raw, _TOP)
    out: dict = {}
    if "sender" in raw:
        out["sender"] = _address(path, f"{SECTION}.sender", raw["sender"])
    if "finance" in raw:
        out["finance"] = _addresses(path, f"{SECTION}.finance", raw["finance"])
    if "schedule_day" in raw:
        day = raw["schedule_day"]
        if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 28:
            raise ConfigError(f"{path}: '{SECTION}.schedule_day' must be a day of the month from 1 to 28")
        out["schedule_day"] = day
    teams = {}
    raw_teams = raw.get("teams") or {}
    if not isinstance(raw_teams, dict):
        raise ConfigError(f"{path}: '{SECTION}.teams' must be a mapping of team name to settings")
    for name, settings in raw_teams.items():
        where = f"{SECTION}.teams.{name}"
        settings = settings or {}
        _mapping(path, where, settings, _TEAM)
        team: dict = {}
        if "recipients" in settings:
            team["recipients"] = _addresses(path, f"{where}.recipients", settings["recipients"])
        if "budget" in settings:
            team["budget"] = amount(path, f"{where}.budget", settings["budget"])
        if "currency" in settings:
            cur = settings["currency"]
            if not isinstance(cur, str) or not _CURRENCY.match(cur.upper()):
                raise ConfigError(f"{path}: '{where}.currency' must be an ISO 4217 code like USD")
            team["currency"] = cur.upper()
        teams[str(name).strip().lower()] = TeamSettings(**team)
    out["teams"] = teams
    if "smtp" in raw:
        out["smtp"] = _smtp(path, raw["smtp"])
    return ReportsConfig(**out)


def _smtp(path: Path, raw) -> SmtpSettings:
    where = f"{SECTION}.smtp"
    _mapping(path, where, raw, _SMTP)
    out: dict = {}
    if "host" in raw:
        if not isinstance(raw["host"], str) or not raw["host"].strip():
            raise ConfigError(f"{path}: '{where}.host' must be a host name")
        out["host"] = raw["host"].strip()
    if "port" in raw:
        port = raw["port"]
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise ConfigError(f"{path}: '{where}.port' must be a port number")
        out["port"] = port
    if "starttls" in raw:
        if not isinstance(raw["starttls"], bool):
            raise ConfigError(f"{path}: '{where}.starttls' must be true or false")
        out["starttls"] = raw["starttls"]
    if "ca_file" in raw:
        if not isinstance(raw["ca_file"], str) or not raw["ca_file"].strip():
            raise ConfigError(f"{path}: '{where}.ca_file' must be a file path")
        out["ca_file"] = str((path.resolve().parent / raw["ca_file"]).resolve())
    for key in ("username_env", "password_env"):
        if key in raw:
            name = raw[key]
            if not isinstance(name, str) or not _ENV_NAME.match(name):
                # the value must be a variable's NAME; a secret pasted here is refused, not echoed
                raise ConfigError(f"{path}: '{where}.{key}' must name an environment variable "
                                  f"(letters, digits, _), not hold the secret")
            out[key] = name
    return SmtpSettings(**out)


def _mapping(path: Path, where: str, raw, allowed: set[str]) -> None:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: '{where}' must be a mapping")
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"{path}: unknown key '{where}.{key}' (expected one of: {', '.join(sorted(allowed))})")


def _address(path: Path, where: str, value) -> str:
    if not isinstance(value, str) or not _EMAIL.match(value.strip()):
        raise ConfigError(f"{path}: '{where}' must be an e-mail address")
    return value.strip()


def _addresses(path: Path, where: str, value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(f"{path}: '{where}' must be a list of e-mail addresses")
    return tuple(_address(path, f"{where}[{i}]", v) for i, v in enumerate(value))
