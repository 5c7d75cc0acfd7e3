"""Errors for bad input: every problem with the input at once, each naming the item and field."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InputIssue:
    """One thing wrong with the input.

    ``where`` names the item and field, e.g. ``visits[3] (id 'V17').windows[0].end``.
    """

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class InputError(ValueError):
    """Raised when input cannot be turned into a problem or plan; carries every issue found."""

    def __init__(self, issues: Iterable[InputIssue] | str, source: str = "") -> None:
        if isinstance(issues, str):
            issues = [InputIssue("", issues)]
        self.issues: tuple[InputIssue, ...] = tuple(issues)
        self.source = source
        head = f"{source}: " if source else ""
        lines = [str(issue) for issue in self.issues]
        if len(lines) == 1:
            text = head + lines[0]
        else:
            text = (
                head
                + f"{len(lines)} problems in the input:\n"
                + "\n".join(f"  - {line}" for line in lines)
            )
        super().__init__(text)
