"""The one error every loader raises for bad input: it names the file, line and field.

A user who loads their own enterprise list or statute folder must be able to fix the input from
the message alone, so the location is part of the error, not of a log line somewhere else.
"""

from __future__ import annotations

from pathlib import Path


class LoadError(ValueError):
    """Bad input to a loader. Nothing from the file has been written when this is raised."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ):
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f" [{self.field}]"
        return f"{where}: {self.reason}"


class LoadErrors(LoadError):
    """Several problems found while validating one file (all reported at once)."""

    def __init__(self, errors: list[LoadError], *, file: str | Path | None = None, limit: int = 20):
        self.errors = errors
        shown = "\n  ".join(str(e) for e in errors[:limit])
        more = f"\n  ... and {len(errors) - limit} more" if len(errors) > limit else ""
        super().__init__(f"{len(errors)} problem(s):\n  {shown}{more}", file=file)

    def _render(self) -> str:
        return f"{self.file or '<input>'}: {self.reason}"
