"""Rendering and checking HTML templates: a sandboxed, autoescaping Jinja environment per
document language, with the formatting filters bound to that language.

Templates may ``{% extends "base.html" %}`` or include any file of ``builtin/``; the
template being rendered is compiled from its source and appears in tracebacks as
``<template>``, which is how an error is traced back to its line.
"""

from __future__ import annotations

import functools
import re
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import (
    FileSystemLoader,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    Undefined,
)
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from docgen.context import (
    PURPOSES_SERVED,
    SAMPLE_CONTEXT,
    NotInContext,
    missing_required,
    wrap_context,
)
from docgen.errors import DocumentError, MissingField, Problem, TemplateProblem, UnknownField
from docgen.fields import unknown_fields
from docgen.locale import Formatter, check_language, load_labels

BUILTIN = Path(__file__).resolve().parent / "builtin"
MAIN = "<template>"
TOO_HUNGRY = "needs too much memory to render"
TOO_DEEP = "nests too deeply, or a macro calls itself without end"
_CSS_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\a ", "<": "\\3c ", ">": "\\3e "}


def paragraphs(text: object) -> list[str]:
    """Plain text split at blank lines, so a template prints each paragraph escaped."""
    return [
        part.strip()
        for part in re.split(r"\n\s*\n", str(text).replace("\r\n", "\n"))
        if part.strip()
    ]


def css_string(value: object) -> Markup:
    """A quoted CSS string for ``content:`` in a <style> element, where HTML escaping
    would not be undone; escaping < also keeps a value from closing the element."""
    text = "".join(_CSS_ESCAPES.get(char, char) for char in str(value))
    return Markup(f'"{text}"')


def _strict(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that refuses empty fields instead of formatting them as ''."""

    @functools.wraps(function)
    def apply(*args: Any, **kwargs: Any) -> Any:
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, Undefined):
                arg._fail_with_undefined_error()
        return function(*args, **kwargs)

    return apply


class DocumentEnvironment(SandboxedEnvironment):
    """Keeps compiled sources: the same template is rendered for many documents."""

    # Characters one render (or macro, or block) may produce before it is stopped; None is
    # no limit. The upload check sets it in its own process (docgen.template_limits).
    output_limit: int | None = None

    def __init__(self, language: str) -> None:
        super().__init__(
            loader=FileSystemLoader(BUILTIN),
            autoescape=True,
            undefined=NotInContext,
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        formatter = Formatter(language)
        filters: dict[str, Callable[..., Any]] = {
            "money": formatter.money,
            "number": formatter.number,
            "percent": formatter.percent,
            "date": formatter.date,
            "period": formatter.period,
            "months": formatter.months,
            "country": formatter.country,
            "paragraphs": paragraphs,
            "css_string": css_string,
        }
        self.filters.update({name: _strict(function) for name, function in filters.items()})
        self._compiled: dict[str, Template] = {}

    def concat(self, chunks: Iterable[str]) -> str:
        # Jinja joins every rendered piece through here, as the loop makes them: counting
        # them stops a template that prints without end before it has filled the memory.
        if self.output_limit is None:
            return "".join(chunks)
        kept, size = [], 0
        for chunk in chunks:
            size += len(chunk)
            if size > self.output_limit:
                raise TemplateProblem(f"renders more than {self.output_limit // 1_000_000} MB")
            kept.append(chunk)
        return "".join(kept)

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Any:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        compiled = self._compiled.get(source)
        if compiled is None:
            if len(self._compiled) >= 64:
                self._compiled.clear()
            compiled = self._compiled[source] = super().from_string(source)
        return compiled


@functools.cache
def environment(language: str) -> DocumentEnvironment:
    return DocumentEnvironment(check_language(language))


def document_values(context: Mapping[str, Any], *, language: str, purpose: str) -> dict[str, Any]:
    """The wrapped context, after checking the fields ``purpose`` cannot do without."""
    check_language(language)
    missing = missing_required(context, purpose)
    if missing:
        raise MissingField(missing, "required fields are empty: " + ", ".join(missing))
    document = {**(context.get("document") or {}), "language": language, "purpose": purpose}
    return wrap_context({**context, "document": document}, load_labels(language))


def template_line(exc: BaseException, name: str = MAIN) -> int | None:
    """The line of template ``name`` the error happened on (Jinja rewrites tracebacks)."""
    lines = [
        frame.lineno for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == name
    ]
    return lines[-1] if lines else None


def as_problem(exc: Exception, line: int | None) -> DocumentError:
    """A render error as the DocumentError callers expect, placed on its line."""
    if isinstance(exc, UnknownField):
        return UnknownField(exc.path, exc.line or line)
    if isinstance(exc, MissingField):
        exc.line = exc.line or line
        return exc
    if isinstance(exc, DocumentError):
        return exc
    if isinstance(exc, TemplateNotFound):
        return TemplateProblem(f"no built-in template {exc.name!r} to extend or include", line)
    if isinstance(exc, TemplateSyntaxError):
        return TemplateProblem(exc.message or str(exc), exc.lineno)
    if isinstance(exc, MemoryError):
        return TemplateProblem(TOO_HUNGRY, line)
    if isinstance(exc, RecursionError):
        return TemplateProblem(TOO_DEEP, line)
    reason = str(exc) if isinstance(exc, TemplateError) else f"{type(exc).__name__}: {exc}"
    return TemplateProblem(reason, line)


def render_html(source: str, context: Mapping[str, Any], *, language: str, purpose: str) -> str:
    """The HTML of a document; MissingField or TemplateProblem when it cannot be made."""
    values = document_values(context, language=language, purpose=purpose)
    env = environment(language)
    try:
        return str(env.from_string(source).render(values))
    except Exception as exc:
        problem = as_problem(exc, template_line(exc))
        if problem is exc:
            raise
        raise problem from exc


def validate_html(source: str, purpose: str) -> list[Problem]:
    """Why ``source`` cannot serve as a template for ``purpose``; [] when it can."""
    if purpose not in PURPOSES_SERVED:
        return [Problem(None, f"unknown purpose {purpose!r}")]
    env = environment("en")
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        return [Problem(exc.lineno, exc.message or str(exc))]
    problems = [
        Problem(line, f"unknown field {path}") for line, path in unknown_fields(ast, env.globals)
    ]
    for served in PURPOSES_SERVED[purpose]:
        try:
            render_html(source, SAMPLE_CONTEXT, language="en", purpose=served)
        except TemplateProblem as exc:
            problems.append(Problem(exc.line, exc.reason))
        except MissingField as exc:
            problems.append(Problem(exc.line, exc.message))
    return sorted(dict.fromkeys(problems), key=lambda problem: problem.line or 0)
