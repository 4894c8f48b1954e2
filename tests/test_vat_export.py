"""VAT to a business outside the EU/EEA: an export (category G, 0 %, the words in the
invoice's language and English), not reverse charge; inside the EU/EEA reverse charge as
before. The EEA countries and the export words are data in vat.yaml."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from avtale.rules.loading import RuleError
from avtale.rules.vat import VAT_FILE, load_vat_rules, vat_for

ON = date(2026, 3, 1)


@pytest.mark.parametrize(
    ("seller", "buyer", "language", "category", "note"),
    [
        ("NO", "US", "en", "G", "Export outside the EEA"),
        ("NO", "US", "nb", "G", "Utførsel av tjenester / Export outside the EEA"),
        ("NO", "GB", "en", "G", "Export outside the EEA"),
        ("NO", "CH", "de", "G", "Ausfuhr außerhalb des EWR / Export outside the EEA"),
        ("SE", "US", "sv", "G", "Export utanför EES / Export outside the EEA"),
        ("DK", "JP", "fi", "G", "Export outside the EEA"),  # no words of its own: English
        ("GB", "DE", "en", "G", "Export outside the EEA"),  # a seller outside the EEA
        # Inside the EEA: reverse charge, with the directive only between EU members.
        ("NO", "SE", "nb", "AE", "Omvendt avgiftsplikt / Reverse charge"),
        ("SE", "NO", "sv", "AE", "Omvänd skattskyldighet / Reverse charge"),
        ("NO", "IS", "en", "AE", "Reverse charge"),
        ("DK", "LI", "da", "AE", "Omvendt betalingspligt / Reverse charge"),
    ],
)
def test_outside_the_eu_eea_is_an_export_inside_it_reverse_charge(
    seller: str, buyer: str, language: str, category: str, note: str
) -> None:
    treatment = vat_for(seller, buyer, ON, language=language)
    assert (treatment.category, treatment.rate, treatment.note) == (category, Decimal(0), note)


def test_a_vat_yaml_without_the_eea_or_export_words_falls_back_to_the_defaults(
    tmp_path: Path,
) -> None:
    text = VAT_FILE.read_text(encoding="utf-8")
    trimmed = text[: text.index("# The EEA countries outside the EU")]
    path = tmp_path / "vat.yaml"
    path.write_text(trimmed, encoding="utf-8")
    rules = load_vat_rules(path)
    assert rules.eea_members == {"IS", "LI", "NO"}
    assert vat_for("NO", "US", ON, language="nb", rules=rules).note == "Export outside the EEA"
    assert vat_for("NO", "SE", ON, rules=rules).category == "AE"


@pytest.mark.parametrize(
    ("find", "replacement", "message"),
    [
        ('eea_members: ["IS", "LI", "NO"]', "eea_members: [IS, LI, NO]",
         r'eea_members\[2\]: must be a quoted country code such as "NO"'),
        ("  en: Export outside the EEA\n", "", "export: must give the words per language"),
    ],
)  # fmt: skip
def test_the_eea_and_export_entries_are_checked(
    tmp_path: Path, find: str, replacement: str, message: str
) -> None:
    text = VAT_FILE.read_text(encoding="utf-8")
    assert find in text
    path = tmp_path / "vat.yaml"
    path.write_text(text.replace(find, replacement), encoding="utf-8")
    with pytest.raises(RuleError, match=message):
        load_vat_rules(path)
