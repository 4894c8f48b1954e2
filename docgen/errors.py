"""Why a document could not be made: the errors and problems the callers show to users."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One reason a template is refused; ``line`` is None where a line means nothing
    (a Word file, whose lines are docxtpl's XML: the message quotes the paragraph)."""

    line: int | None
    message: str


class DocumentError(Exception):
    """A document that cannot be generated; the message is meant for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingField(DocumentError):
    """Fields the document needs are empty: required ones, or ones the template prints."""

    def __init__(self, fields: Sequence[str], message: str | None = None) -> None:
        self.fields = list(fields)
        # The template line that printed the field, when a template did.
        self.line: int | None = None
        if message is None:
            message = "; ".join(f"{field} is empty" for field in self.fields)
        super().__init__(message)


class TemplateProblem(DocumentError):
    """The template itself is at fault (syntax, unknown field, a filter given nonsense)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)
        self.reason = message


class UnknownField(TemplateProblem):
    """A template names a field that is not in the document context."""

    def __init__(self, path: str, line: int | None = None) -> None:
        self.path = path
        super().__init__(f"unknown field {path}", line)
