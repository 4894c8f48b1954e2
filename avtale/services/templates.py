"""Templates and the clause library (SPEC D1, D2): every version listed, a new version
saved from an upload or the HTML editor, a clause edited or added; the built-in ones put
into a database that has none. Changing them needs ``manage_settings``."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.repository import library
from avtale.repository.models import TEMPLATE_PURPOSES as TEMPLATE_PURPOSES
from avtale.repository.models import Clause, Template
from avtale.repository.validation import ValidationError
from avtale.services.database import Database
from avtale.services.unit_of_work import (
    FORM,
    MANAGE_SETTINGS,
    Outcome,
    System,
    check,
    reading,
    write,
)

TEMPLATE_SUFFIXES = {".html": "html", ".htm": "html", ".docx": "docx"}
TEMPLATE_COLUMNS = ["id", "key", "version_no", "name", "purpose", "format", "note"]
CLAUSE_COLUMNS = ["key", "language", "version_no", "title", "sort_order", "active", "conditions"]


# --- reads --------------------------------------------------------------------------


def templates(db: Database) -> pd.DataFrame:
    """Every version of every template, newest first within a key."""
    with reading(db) as session:
        rows = session.scalars(select(Template).order_by(Template.key, Template.version_no.desc()))
        data = [
            {
                "id": t.id,
                "key": t.key,
                "version_no": t.version_no,
                "name": t.name,
                "purpose": t.purpose,
                "format": t.format,
                "note": t.note,
                "created_by": t.created_by,
                "created_at": t.created_at,
                "sha256": t.sha256,
            }
            for t in rows
        ]
    return pd.DataFrame(data, columns=[*TEMPLATE_COLUMNS, "created_by", "created_at", "sha256"])


def template_body(db: Database, template_id: int) -> bytes:
    """A template version's file (empty when there is no such version)."""
    with reading(db) as session:
        template = session.get(Template, template_id)
        return template.body if template else b""


def clause_library(db: Database) -> pd.DataFrame:
    """The newest version of every clause in every language, inactive ones too."""
    with reading(db) as session:
        data = [
            {
                "key": c.key,
                "language": c.language,
                "version_no": c.version_no,
                "title": c.title,
                "sort_order": c.sort_order,
                "active": c.active,
                "conditions": yaml.safe_dump(c.conditions, sort_keys=False).strip()
                if c.conditions
                else "",
                "body": c.body,
                "created_by": c.created_by,
            }
            for c in library.latest_clauses(session, active_only=False)
        ]
    return pd.DataFrame(data, columns=[*CLAUSE_COLUMNS, "body", "created_by"])


# --- writes -------------------------------------------------------------------------


def install_builtins(db: Database) -> dict[str, int]:
    """The built-in templates, clauses and catalogue put into a database that has none of
    them (what is there is left alone); counts of what was added."""
    outcome = write(
        db,
        System(library.SYSTEM),
        MANAGE_SETTINGS,
        lambda session: Outcome(detail=library.install_defaults(session)),
    )
    return dict(outcome.detail)


def save_template(
    db: Database,
    actor: str,
    key: str | None,
    values: Mapping[str, Any],
    upload: tuple[str, bytes] | None = None,
    text: str | None = None,
) -> Outcome:
    """A new version of a template from an uploaded file (its format from the file name)
    or from the HTML editor's ``text``; refused with the line and reason when it is bad."""
    key = (key or "").strip()
    refusal = check(db, actor, MANAGE_SETTINGS)
    if refusal is not None:
        return refusal
    try:
        fmt, body = _template_file(upload, text)
        with reading(db) as session:
            _refuse_unchanged(session, key, body)
    except ValidationError as invalid:
        return Outcome(errors=invalid.errors)
    # The check renders a sample in a child process, for seconds: done before the write
    # transaction, so the database's write lock is not held (and every other writer kept
    # waiting) meanwhile.
    purpose = values.get("purpose")
    problems = (
        library.template_problems(body, fmt, purpose)
        if body and purpose in TEMPLATE_PURPOSES
        else None
    )

    def work(session: Session) -> Outcome:
        _refuse_unchanged(session, key, body)  # saved by someone else meanwhile
        template = library.save_template(
            session, actor, key, dict(values) | {"format": fmt}, body, problems=problems
        )
        return Outcome(
            message=f"Template {template.key} version {template.version_no} saved.",
            target=template.key,
        )

    return write(db, actor, MANAGE_SETTINGS, work)


def _template_file(upload: tuple[str, bytes] | None, text: str | None) -> tuple[str, bytes]:
    """The format and content of an uploaded file or of the editor's text."""
    if upload is not None:
        filename, body = upload
        fmt = TEMPLATE_SUFFIXES.get(PurePath(filename).suffix.lower())
        if fmt is None:
            raise ValidationError({"file": "upload an .html or a .docx template"})
        return fmt, body
    if text is not None:
        return "html", text.encode("utf-8")
    raise ValidationError({"file": "choose the template file"})


def _refuse_unchanged(session: Session, key: str, body: bytes) -> None:
    latest = library.latest_template(session, key)
    if latest is not None and hashlib.sha256(body).hexdigest() == latest.sha256:
        raise ValidationError(
            {"body": f"is the same as version {latest.version_no}: nothing to save"}
        )


def save_clause(
    db: Database,
    actor: str,
    key: str | None,
    language: str | None,
    values: Mapping[str, Any],
    conditions: str,
) -> Outcome:
    """A new version of a clause; ``conditions`` is YAML (or JSON) text."""

    def work(session: Session) -> Outcome:
        data = dict(values) | {"conditions": _conditions(conditions)}
        name = (key or "").strip()
        current = next(
            (
                c
                for c in library.latest_clauses(session, active_only=False)
                if (c.key, c.language) == (name, language)
            ),
            None,
        )
        if current is not None and _same_clause(current, data):
            raise ValidationError({FORM: f"nothing changed from version {current.version_no}"})
        clause = library.save_clause(session, actor, name, language or "", data)
        return Outcome(
            message=f"Clause {clause.key} ({clause.language}) version {clause.version_no} saved.",
            target=clause.key,
        )

    return write(db, actor, MANAGE_SETTINGS, work)


def _same_clause(clause: Clause, data: Mapping[str, Any]) -> bool:
    return (
        clause.title == (data.get("title") or "").strip()
        and clause.body == (data.get("body") or "").strip()
        and clause.sort_order == data.get("sort_order")
        and clause.active == bool(data.get("active"))
        and (clause.conditions or {}) == (data.get("conditions") or {})
    )


def _conditions(text: str) -> dict[str, Any] | None:
    if not (text or "").strip():
        return None
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ValidationError({"conditions": f"{where}not valid YAML"}) from None
    if not isinstance(parsed, dict):
        raise ValidationError({"conditions": "must be names with values, like product: ASSIST"})
    return parsed
