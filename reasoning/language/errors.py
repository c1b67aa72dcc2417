"""Errors of the rule language: every one names the file, the line and the field.

A rule author fixes a rule file from the message alone (`alerts.yaml:42 [rules[1].when[0].if]:
unknown field 'dayz_over_200' of alert_assessment; did you mean days_over_200?`), so the
location is part of the error, never a log line somewhere else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleProblem:
    """One problem found in a rule file (or in a fact, an expression or a test)."""

    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = self.file or "<rules>"
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f" [{self.field}]"
        return f"{where}: {self.message}"


class RuleError(ValueError):
    """Bad rule input: one or more problems, each with file, line and field."""

    def __init__(self, problems: list[RuleProblem] | RuleProblem | str):
        if isinstance(problems, str):
            problems = [RuleProblem(problems)]
        elif isinstance(problems, RuleProblem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        shown = "\n  ".join(str(p) for p in self.problems[:30])
        more = f"\n  ... and {len(self.problems) - 30} more" if len(self.problems) > 30 else ""
        return f"{len(self.problems)} problem(s):\n  {shown}{more}"


class ExpressionError(ValueError):
    """A condition or template that does not parse or does not fit the facts it reads.

    `column` is 1-based within the expression text; the caller adds file, line and field.
    """

    def __init__(self, message: str, column: int | None = None):
        self.reason = message
        self.column = column
        super().__init__(message if column is None else f"{message} (column {column})")
