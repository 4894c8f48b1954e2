"""The clause library: which clauses a proposal's answers call for, in which language.

A clause's ``conditions`` map an answer name to the values it allows: a list (the answer
is one of them; for a list-valued answer such as ``products``, any overlap), or
``{"min": a, "max": b}`` for numbers, both inclusive and either optional. A clause with
no conditions always applies. Language is not a condition: clauses are first taken in
the document's language, a key without a text in it falls back to English.

Clauses may share a ``group``: of the matching clauses of one group only the first by
(order, key) is used, so a clause without conditions and a high order is the fallback
of its group (``governing_law_general`` after the per-country ones).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from docgen.locale import check_language

BUILTIN_CLAUSES = Path(__file__).resolve().parent / "builtin" / "clauses.yaml"
FALLBACK_LANGUAGE = "en"

# The answers of the guided flow, with the values a list condition may name (None: any
# value of the answer's type).
ANSWERS: dict[str, tuple[type, tuple[Any, ...] | None]] = {
    "situation": (str, ("new_customer", "existing_customer", "competitor_switch", "renewal")),
    "proposal": (str, ("new_agreement", "upgrade", "downgrade", "renegotiation")),
    "products": (str, None),
    "country": (str, None),
    "term_months": (int, None),
    "auto_renew": (bool, (True, False)),
}
NUMERIC_ANSWERS = {"term_months"}


@dataclass(frozen=True)
class Clause:
    key: str
    version: int
    language: str
    title: str
    body: str
    conditions: Mapping[str, Any] = field(default_factory=dict)
    order: int = 0
    group: str | None = None

    def as_context(self) -> dict[str, Any]:
        """The clause as the document context lists it."""
        return {"key": self.key, "version": self.version, "title": self.title, "body": self.body}


def _holds(condition: Any, answer: Any) -> bool:
    if answer is None:
        return False
    if isinstance(condition, Mapping):
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            return False
        low, high = condition.get("min"), condition.get("max")
        return (low is None or answer >= low) and (high is None or answer <= high)
    if isinstance(answer, list | tuple | set | frozenset):
        return any(value in condition for value in answer)
    # True == 1 in Python: keep a boolean answer from matching a numeric value and back.
    return any(
        value == answer and isinstance(value, bool) == isinstance(answer, bool)
        for value in condition
    )


def matches(clause: Clause, answers: Mapping[str, Any]) -> bool:
    return all(
        _holds(condition, answers.get(name))
        for name, condition in clause.conditions.items()
        if name != "language"
    )


def select_clauses(clauses: Iterable[Clause], answers: Mapping[str, Any]) -> list[Clause]:
    """The clauses ``answers`` call for, in the language ``answers["language"]`` (English
    where a key has no text in it), newest version of each, first of each group, sorted
    by (order, key)."""
    language = check_language(str(answers.get("language") or ""))
    newest: dict[tuple[str, str], Clause] = {}
    for clause in clauses:
        if clause.language in (language, FALLBACK_LANGUAGE):
            current = newest.get((clause.key, clause.language))
            if current is None or clause.version > current.version:
                newest[(clause.key, clause.language)] = clause
    chosen = [
        newest.get((key, language)) or clause
        for (key, clause_language), clause in newest.items()
        if clause_language == FALLBACK_LANGUAGE or (key, FALLBACK_LANGUAGE) not in newest
    ]
    selected = []
    groups_used: set[str] = set()
    for clause in sorted(chosen, key=lambda clause: (clause.order, clause.key)):
        if clause.group in groups_used or not matches(clause, answers):
            continue
        if clause.group is not None:
            groups_used.add(clause.group)
        selected.append(clause)
    return selected


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_conditions(conditions: Any) -> list[str]:
    """Why ``conditions`` cannot be used (unknown answer names, malformed values); []
    when they can. Meant for the admin form that edits a clause."""
    if not isinstance(conditions, Mapping):
        return ["conditions must be a mapping of answer name to allowed values"]
    problems = []
    for name, condition in conditions.items():
        if name not in ANSWERS:
            if name == "language":
                problems.append("language is not a condition: a clause has one text per language")
            else:
                problems.append(f"unknown answer {name!r}; use one of: {', '.join(ANSWERS)}")
            continue
        kind, allowed = ANSWERS[name]
        if isinstance(condition, Mapping):
            problems.extend(_check_range(name, condition))
        elif isinstance(condition, list) and condition:
            for value in condition:
                if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                    problems.append(f"{name}: {value!r} is not a {kind.__name__}")
                elif allowed is not None and value not in allowed:
                    problems.append(
                        f"{name}: {value!r} is not one of {', '.join(map(str, allowed))}"
                    )
        else:
            problems.append(f"{name}: give a non-empty list of values or {{min, max}}")
    return problems


def _check_range(name: str, condition: Mapping[str, Any]) -> list[str]:
    if name not in NUMERIC_ANSWERS:
        return [f"{name}: min/max only applies to numbers ({', '.join(NUMERIC_ANSWERS)})"]
    extra = set(condition) - {"min", "max"}
    if extra or not condition:
        return [f"{name}: a range takes min and/or max only"]
    low, high = condition.get("min"), condition.get("max")
    if not all(_number(bound) for bound in (low, high) if bound is not None):
        return [f"{name}: min and max must be numbers"]
    if low is not None and high is not None and low > high:
        return [f"{name}: min is above max"]
    return []


def builtin_clauses(path: Path = BUILTIN_CLAUSES) -> list[Clause]:
    """The built-in library (``builtin/clauses.yaml``, or a file of the same shape), every
    language, version 1."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Clause(
            key=entry["key"],
            version=1,
            language=language,
            title=text["title"],
            body=text["body"].strip(),
            conditions=entry.get("conditions") or {},
            order=entry["order"],
            group=entry.get("group"),
        )
        for entry in entries
        for language, text in entry["texts"].items()
    ]
