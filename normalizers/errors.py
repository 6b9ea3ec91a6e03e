"""One error type for bad input: it names the file, and the row and column where they apply."""
from __future__ import annotations

from dataclasses import dataclass, asdict


@dataclass
class BadInputError(Exception):
    file: str
    message: str
    row: int | None = None      # 1-based data row (the header is not counted)
    column: str | None = None   # the column as named in the source file

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict:
        return asdict(self) | {"error": str(self)}
