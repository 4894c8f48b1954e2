"""Mapping files for CSV layouts Avtale does not know (SPEC I4).

A mapping is a small YAML file in ``$AVTALE_HOME/mappings/``: which known kind the file
is, which of its columns carries which field, how it writes dates and numbers, and values
the file does not carry at all::

    kind: generic_contracts            # one of ingestion.kinds.KINDS
    columns:                           # field -> the file's header
      contract_id: Avtalenr
      customer_id: Kundenr
      start_date: Fra dato
    date_format: "%m/%d/%Y"            # optional: strptime, for dates the loader would misread
    decimal: ","                       # optional: "," or "."; thousands separators dropped
    constants:                         # optional: field -> the value of every row
      currency: NOK

A file whose header holds every mapped column (and that no known kind recognises) is read
through the first mapping that fits: its columns renamed to the kind's own headers, the
constants added, dates and numbers rewritten as the loader reads them. The loading itself
is the kind's, row rules, quarantine and report included. A date that does not fit the
declared format is quarantined with its row, never read as another format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from ingestion.kinds import KINDS, FieldType, Kind, normalise
from ingestion.records import Records

MAPPING_SUFFIXES = (".yaml", ".yml")
KEYS = ("kind", "columns", "date_format", "decimal", "constants")
NUMBERS = (FieldType.NUMBER, FieldType.INTEGER)


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Mapping:
    source: str  # the file's name, for the report
    kind: Kind
    columns: dict[str, str]  # field -> header in the file
    date_format: str | None = None
    decimal: str | None = None
    constants: dict[str, str] = field(default_factory=dict)

    def fits(self, headers: list[str]) -> bool:
        present = {normalise(h) for h in headers}
        return all(normalise(header) in present for header in self.columns.values())

    def apply(self, records: Records) -> Records:
        """The file's records as the kind's own export would have them."""
        index = {normalise(h): i for i, h in enumerate(records.headers)}
        fields = {f.name: f for f in self.kind.fields}
        picked = [(name, index[normalise(header)]) for name, header in self.columns.items()]
        headers = [fields[name].aliases[0] for name, _ in picked]
        headers += [fields[name].aliases[0] for name in self.constants]
        rows = [
            [self._value(fields[name].type, row[i]) for name, i in picked]
            + list(self.constants.values())
            for row in records.rows
        ]
        return Records(
            headers=headers,
            header_row=records.header_row,
            rows=rows,
            row_numbers=list(records.row_numbers),
            malformed=list(records.malformed),
            blank_rows=records.blank_rows,
        )

    def _value(self, kind: FieldType, value: str) -> str:
        text = value.strip()
        if not text:
            return value
        if kind == FieldType.DATE and self.date_format:
            try:
                return datetime.strptime(text, self.date_format).date().isoformat()
            except ValueError:
                # Not the declared format: never read as another one (31/03 is no March
                # date in %m/%d/%Y), so the loader quarantines it, saying what was wanted.
                return f"not {self.date_format}: {text}"
        if kind in NUMBERS and self.decimal:
            other = "." if self.decimal == "," else ","
            return (
                text.replace(" ", "")
                .replace("\u00a0", "")
                .replace(other, "")
                .replace(self.decimal, ".")
            )
        return value


def load_mappings(folder: Path) -> tuple[list[Mapping], list[str]]:
    """The usable mappings in ``folder`` (sorted by name) and, per unusable file, why."""
    if not folder.is_dir():
        return [], []
    mappings, problems = [], []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in MAPPING_SUFFIXES or not path.is_file():
            continue
        try:
            mappings.append(parse_mapping(path.name, yaml.safe_load(path.read_text("utf-8"))))
        except (MappingError, yaml.YAMLError, UnicodeDecodeError) as problem:
            problems.append(
                str(problem) if isinstance(problem, MappingError) else f"{path.name}: {problem}"
            )
    return mappings, problems


def parse_mapping(source: str, data: Any) -> Mapping:
    def fail(where: str, message: str) -> MappingError:
        return MappingError(f"{source}: {where}: {message}")

    if not isinstance(data, dict):
        raise fail("the file", f"must be a mapping of {', '.join(KEYS)}")
    for key in data:
        if key not in KEYS:
            raise fail(str(key), f"unknown key (expected one of: {', '.join(KEYS)})")
    kinds = {kind.name: kind for kind in KINDS}
    kind = kinds.get(str(data.get("kind")))
    if kind is None:
        raise fail("kind", f"must be one of: {', '.join(kinds)}")
    columns = _fields(kind, _texts(data.get("columns"), fail, "columns"), fail, "columns")
    constants = _fields(
        kind, _texts(data.get("constants") or {}, fail, "constants"), fail, "constants"
    )
    for name in set(columns) & set(constants):
        raise fail(f"constants.{name}", "is also mapped to a column: keep one")
    missing = [f.name for f in kind.fields if f.required and f.name not in {*columns, *constants}]
    if missing:
        raise fail("columns", f"{kind.name} needs {', '.join(missing)}")
    date_format = data.get("date_format")
    if date_format is not None:
        if not isinstance(date_format, str) or "%" not in date_format:
            raise fail("date_format", "must be a strptime format such as %d.%m.%Y")
        try:
            datetime.strptime(datetime(2025, 3, 31).strftime(date_format), date_format)
        except ValueError:
            raise fail("date_format", f"{date_format!r} cannot read the dates it writes") from None
    decimal = data.get("decimal")
    if decimal is not None and decimal not in (",", "."):
        raise fail("decimal", 'must be "," or "."')
    return Mapping(source, kind, columns, date_format, decimal, constants)


def _fields(kind: Kind, given: dict[str, str], fail: Any, where: str) -> dict[str, str]:
    """``given`` keyed by the kind's field names; a key may also be a header the kind's own
    export uses for the field (``billing_period`` for ``billing``)."""
    out = {}
    for key, text in given.items():
        found = next((f for f in kind.fields if f.name == key), None) or kind.field_for(key)
        if found is None:
            known = ", ".join(f.name for f in kind.fields)
            raise fail(f"{where}.{key}", f"{kind.name} has no such field ({known})")
        out[found.name] = text
    return out


def _texts(value: Any, fail: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise fail(where, "must map field names to text")
    out = {}
    for key, text in value.items():
        if (
            not isinstance(text, str | int | float)
            or isinstance(text, bool)
            or not str(text).strip()
        ):
            raise fail(f"{where}.{key}", "must be text")
        out[str(key)] = str(text).strip()
    return out
