"""Reading rule and settings files: YAML under version control, checked entry by entry, so
a mistake is reported with its file and the path of the bad entry (``routing.yaml:
rules[2].when.reduced_pct: unknown comparison 'lte2'``) when the file is loaded, not when a
rule first fires.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

import yaml

RULES_DIR = Path(__file__).parent
# The settings files shipped under version control (limits, reminders, renewals, seller,
# VAT); a data folder replaces any of them with its own file of the same name.
CONFIG_DIR = RULES_DIR.parent / "config"
ANY_PRODUCT = "*"
# PyYAML's safe loader on libyaml's parser (C): the same values, read ~10x faster than by the
# pure-Python parser. Settings files are read on every use (an invoice run read 12 for each
# invoice, most of its time); a file with a mistake is read again by the Python parser,
# whose messages say more ("found character '\t' that cannot start any token").
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def config_file(home: Path | None, name: str) -> Path:
    """The settings file ``name`` in force: ``<home>/<name>`` when the data folder has one,
    else the shipped ``avtale/config/<name>``."""
    if home is not None and (home / name).exists():
        return home / name
    return CONFIG_DIR / name


class RuleError(ValueError):
    """A rule file that cannot be used: ``source`` is its file name, ``path`` the bad entry."""

    def __init__(self, source: str, path: str, message: str) -> None:
        self.source = source
        self.path = path
        self.message = message
        super().__init__(f"{source}: {path}: {message}" if path else f"{source}: {message}")


def read_yaml(path: Path | str) -> tuple[str, Any]:
    """The file's name and its parsed content; unreadable or malformed files raise RuleError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuleError(path.name, "", f"no such file ({path})") from None
    except UnicodeDecodeError:
        raise RuleError(path.name, "", "is not UTF-8 text") from None
    except OSError as problem:
        raise RuleError(path.name, "", f"cannot be read ({problem.strerror})") from None
    try:
        return path.name, yaml.load(text, Loader=FAST_LOADER)
    except yaml.YAMLError:
        pass  # read again by the Python parser below, for its clearer message
    try:
        return path.name, yaml.safe_load(text)
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        reason = getattr(problem, "problem", None) or str(problem)
        raise RuleError(path.name, where, f"is not valid YAML ({reason})") from None


def child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


@dataclass(frozen=True)
class Entry:
    """One value of a rule file and where it sits, so every complaint can name both."""

    source: str
    path: str
    value: Any

    def fail(self, message: str) -> NoReturn:
        raise RuleError(self.source, self.path, message)

    def at(self, key: str | int, value: Any) -> Entry:
        return Entry(self.source, child(self.path, key), value)

    def fields(
        self, required: Iterable[str] = (), optional: Iterable[str] = ()
    ) -> dict[str, Entry]:
        """The entries of a mapping; a missing required key or an unknown key is an error."""
        required, optional = tuple(required), tuple(optional)
        if not isinstance(self.value, Mapping):
            self.fail("must be a mapping of " + ", ".join(required + optional))
        known = required + optional
        for key in self.value:
            if key not in known:
                self.at(str(key), None).fail(
                    f"unknown key '{key}' (expected one of: {', '.join(known)})"
                )
        for key in required:
            if key not in self.value:
                self.at(key, None).fail("is required")
        return {key: self.at(key, value) for key, value in self.value.items()}

    def items(self, *, allow_empty: bool = False) -> list[Entry]:
        if not isinstance(self.value, list):
            self.fail("must be a list")
        if not self.value and not allow_empty:
            self.fail("must not be empty")
        return [self.at(index, value) for index, value in enumerate(self.value)]

    def text(self, *, max_length: int = 200) -> str:
        if not isinstance(self.value, str) or not self.value.strip():
            self.fail("must be non-empty text")
        if len(self.value) > max_length:
            self.fail(f"must be at most {max_length} characters")
        return self.value.strip()

    def texts(self) -> tuple[str, ...]:
        return tuple(item.text() for item in self.items())

    def integer(self, *, minimum: int | None = None) -> int:
        # YAML reads yes/no as booleans, which Python counts as integers: refuse them.
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            self.fail("must be a whole number")
        if minimum is not None and self.value < minimum:
            self.fail(f"must be {minimum} or more")
        return self.value

    def number(self, *, minimum: int | None = None, maximum: int | None = None) -> Decimal:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.fail("must be a number")
        try:
            # Through str: the float 0.1 from YAML becomes Decimal("0.1"), not its binary value.
            parsed = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail("must be a number")
        if not parsed.is_finite():
            self.fail("must be a number")
        if minimum is not None and parsed < minimum:
            self.fail(f"must be {minimum} or more")
        if maximum is not None and parsed > maximum:
            self.fail(f"must be {maximum} or less")
        return parsed

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            self.fail("must be true or false")
        return self.value

    def choice(self, choices: Iterable[str]) -> str:
        choices = tuple(choices)
        if self.value not in choices:
            self.fail(f"unknown value {self.value!r} (expected one of: {', '.join(choices)})")
        return str(self.value)


def document(
    source: str, data: Any, *, required: Iterable[str] = (), optional: Iterable[str] = ()
) -> tuple[int, dict[str, Entry]]:
    """The top of a rule file: its ``version`` (a whole number bumped on every change and
    recorded with each decision) and its other entries, checked against the known keys."""
    if data is None:
        raise RuleError(source, "", "is empty")
    fields = Entry(source, "", data).fields(required=("version", *required), optional=optional)
    return fields["version"].integer(minimum=1), fields


def product_matches(patterns: Iterable[str], product: str) -> bool:
    """Whether ``product`` is one of ``patterns`` (``"*"`` is any product). Codes compare
    without regard to case: a form may send ``assist`` for ``ASSIST``."""
    code = product.strip().casefold()
    return any(pattern == ANY_PRODUCT or pattern.casefold() == code for pattern in patterns)


def plain(value: Decimal | int) -> str:
    """A number as plain text without trailing zeros or an exponent: ``Decimal("20.00")`` is
    ``"20"``, ``Decimal("1E+2")`` is ``"100"``."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text
