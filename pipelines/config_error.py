"""The one error type for a wrong configuration (its own module: the section parsers raise it
and config.py imports them)."""


class ConfigError(ValueError):
    pass
