"""The fields a template names that the document context does not have.

Found in Jinja's syntax tree rather than by rendering, so fields in branches the sample
context never takes are checked too, each with the line it is used on. Loop variables
follow their list (``{% for line in lines %}`` makes ``line`` a line of ``lines``).
Anything reached another way (``{% set %}``, macros, filters) is left to the render
against the sample context that ``validate_html`` also does.
"""

from __future__ import annotations

from collections.abc import Collection

from jinja2 import meta, nodes

from docgen.context import FIELDS, Schema

# Jinja's own names, never fields of the context.
_JINJA_NAMES = {"loop", "self", "super", "caller", "varargs", "kwargs"}


class _Unchecked:
    """A value whose fields cannot be known before rendering (a string, a {% set %})."""


UNCHECKED = _Unchecked()
Known = tuple[Schema, str] | _Unchecked


def unknown_fields(ast: nodes.Template, known_globals: Collection[str]) -> list[tuple[int, str]]:
    """(line, dotted path) of every use of a field not in the document context."""
    found: list[tuple[int, str]] = []
    allowed = set(FIELDS) | set(known_globals) | _JINJA_NAMES | _declared(ast)
    for name in meta.find_undeclared_variables(ast) - allowed:
        for node in ast.find_all(nodes.Name):
            if node.name == name and node.ctx == "load":
                found.append((node.lineno, name))
    _Walker(found).visit(ast, {})
    return sorted(set(found))


def _declared(ast: nodes.Template) -> set[str]:
    """Names the template defines itself: Jinja's meta counts a top-level macro or
    {% set %} used inside a block as undeclared, though the block sees it."""
    names = {node.name for node in ast.find_all(nodes.Name) if node.ctx == "store"}
    names |= {node.name for node in ast.find_all(nodes.Macro)}
    names |= {node.target for node in ast.find_all(nodes.Import)}
    for node in ast.find_all(nodes.FromImport):
        names |= {name if isinstance(name, str) else name[1] for name in node.names}
    return names


class _Walker:
    def __init__(self, found: list[tuple[int, str]]) -> None:
        self.found = found

    def visit(self, node: nodes.Node, scope: dict[str, Known]) -> None:
        if isinstance(node, nodes.For):
            self._visit_for(node, scope)
        elif isinstance(node, nodes.Macro | nodes.CallBlock):
            inner = {**scope, **{arg.name: UNCHECKED for arg in node.args}}
            for child in node.iter_child_nodes():
                self.visit(child, inner)
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            self.resolve(node, scope)
        else:
            for child in node.iter_child_nodes():
                self.visit(child, scope)

    def _visit_for(self, node: nodes.For, scope: dict[str, Known]) -> None:
        source = self.resolve(node.iter, scope)
        item: Known = UNCHECKED
        if isinstance(source, tuple) and isinstance(source[0], list):
            item = (source[0][0], source[1] + "[]")
        inner: dict[str, Known] = {**scope, "loop": UNCHECKED}
        if isinstance(node.target, nodes.Name):
            inner[node.target.name] = item
        else:
            for target in node.target.find_all(nodes.Name):
                inner[target.name] = UNCHECKED
        for child in node.body:
            self.visit(child, inner)
        if node.test is not None:
            self.visit(node.test, inner)
        for child in node.else_:
            self.visit(child, scope)

    def resolve(self, node: nodes.Node, scope: dict[str, Known]) -> Known:
        """What ``node`` refers to, reporting unknown fields on the way."""
        if isinstance(node, nodes.Name):
            if node.name in scope:
                return scope[node.name]
            if node.name in FIELDS:
                return (FIELDS[node.name], node.name)
            return UNCHECKED
        if isinstance(node, nodes.Getattr):
            return self._member(self.resolve(node.node, scope), node.attr, node.lineno)
        if isinstance(node, nodes.Getitem):
            base = self.resolve(node.node, scope)
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                return self._member(base, node.arg.value, node.lineno)
            self.visit(node.arg, scope)
            if isinstance(base, tuple) and isinstance(base[0], list):
                return (base[0][0], base[1] + "[]")
            return UNCHECKED
        self.visit(node, scope)
        return UNCHECKED

    def _member(self, base: Known, name: str, line: int) -> Known:
        if not isinstance(base, tuple):
            return UNCHECKED
        schema, path = base
        if name.startswith("_"):
            return UNCHECKED  # the sandbox refuses these when rendering, with its own message
        if isinstance(schema, dict):
            if name in schema:
                return (schema[name], f"{path}.{name}")
            self.found.append((line, f"{path}.{name}"))
        elif isinstance(schema, list):
            # A list has items, not fields: ``lines.product`` is a mistake for a loop.
            self.found.append((line, f"{path}.{name}"))
        return UNCHECKED
