"""The official Peppol BIS Billing 3.0 validation for tests: the CEN EN 16931 and the Peppol
Schematron rules from ``../shared/peppol/``, run by Saxon (``saxonche``) through SchXslt.

Use the session fixture ``peppol`` (import it into the test module, as ``conftest`` does
with ``postgres_server``)::

    from tests.peppol import peppol

    def test_x(peppol: Schematron) -> None:
        assert peppol.fatal(xml_bytes) == []

Each rule set is compiled once per test session: SchXslt's pipeline turns the ``.sch``
file into an XSLT stylesheet, written to a temporary folder and compiled by Saxon. That
takes about 2 s for both on the 2-core test machine; validating one document against both
then takes about 30 ms. ``validate`` returns every failed assert with its rule set, flag
(fatal or warning), id and text; a document conforms when ``fatal`` is empty.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree
from saxonche import PySaxonProcessor, PyXsltExecutable

PEPPOL_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "peppol"
RULE_SETS = ("CEN-EN16931-UBL", "PEPPOL-EN16931-UBL")
SVRL = "http://purl.oclc.org/dsdl/svrl"


@dataclass(frozen=True)
class FailedAssert:
    rule_set: str
    flag: str
    id: str
    text: str
    location: str


class Schematron:
    """Both rule sets compiled into ``work_dir``; one Saxon processor for the session."""

    def __init__(self, processor: PySaxonProcessor, work_dir: Path) -> None:
        if not PEPPOL_DIR.is_dir():
            raise FileNotFoundError(f"the Peppol rules are not at {PEPPOL_DIR}")
        self._work_dir = work_dir
        xslt = processor.new_xslt30_processor()
        pipeline = xslt.compile_stylesheet(
            stylesheet_file=str(PEPPOL_DIR / "schxslt" / "pipeline-for-svrl.xsl")
        )
        self._validators: dict[str, PyXsltExecutable] = {}
        for name in RULE_SETS:
            compiled = work_dir / f"{name}.xsl"
            pipeline.transform_to_file(
                source_file=str(PEPPOL_DIR / f"{name}.sch"), output_file=str(compiled)
            )
            self._validators[name] = xslt.compile_stylesheet(stylesheet_file=str(compiled))

    def validate(self, document: bytes | Path) -> list[FailedAssert]:
        """Every failed assert of both rule sets on ``document`` (XML bytes or a file)."""
        if isinstance(document, bytes):
            source = self._work_dir / "document.xml"
            source.write_bytes(document)
        else:
            source = document
        failed = []
        for name, validator in self._validators.items():
            report = self._work_dir / f"{name}.svrl"
            validator.transform_to_file(source_file=str(source), output_file=str(report))
            failed += _failed_asserts(name, etree.parse(str(report)).getroot())
        return failed

    def fatal(self, document: bytes | Path) -> list[FailedAssert]:
        """The fatal failed asserts: a conforming document has none."""
        return [found for found in self.validate(document) if found.flag == "fatal"]


def _failed_asserts(rule_set: str, report: etree._Element) -> list[FailedAssert]:
    return [
        FailedAssert(
            rule_set=rule_set,
            flag=element.get("flag", ""),
            id=element.get("id", ""),
            text=" ".join(element.findtext(f"{{{SVRL}}}text", "").split()),
            location=element.get("location", ""),
        )
        for element in report.iter(f"{{{SVRL}}}failed-assert")
    ]


@pytest.fixture(scope="session")
def peppol() -> Iterator[Schematron]:
    with (
        tempfile.TemporaryDirectory(prefix="peppol-") as work_dir,
        PySaxonProcessor(license=False) as processor,
    ):
        yield Schematron(processor, Path(work_dir))
