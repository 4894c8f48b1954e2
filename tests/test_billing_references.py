"""KID and OCR references against published examples, each also worked by hand here.

Sources of the examples: Monitor ERP's KID manual (invoice 60224 → KID 602243), the
norwegian-numbers package's README (1234 → 12344 by MOD10, 12343 by MOD11), NAV's
mulighetsrommet tests (real KIDs, the MOD11 "-" case 036536-), the banktools-se README
(Bankgirot OCR 123 → 1230, with length digit 12351) and ocrgenerator's tests (OCR
references checked against Bankgirot's own OCR-referenskontroll page).
"""

from __future__ import annotations

import pytest

from avtale.billing.references import (
    KidMethod,
    is_valid_kid,
    is_valid_ocr,
    kid_error,
    luhn_digit,
    make_kid,
    make_ocr,
    mod11_digit,
    ocr_error,
)

MOD10 = KidMethod.MOD10
MOD11 = KidMethod.MOD11


def test_check_digits_worked_by_hand() -> None:
    # MOD10 of 60224, weights 2 1 2 1 2 from the right: 4·2=8, 2·1=2, 2·2=4, 0·1=0,
    # 6·2=12 → 1+2=3; sum 17, so 3 makes 20.
    assert luhn_digit("60224") == "3"
    # MOD11 of 036536, weights 2 3 4 5 6 7 from the right: 12+9+20+30+18+0 = 89;
    # 89 mod 11 = 1, 11 − 1 = 10: the check digit is "-".
    assert mod11_digit("036536") == "-"
    # MOD11 of 036532: 4+9+20+30+18+0 = 81; 81 mod 11 = 4, 11 − 4 = 7.
    assert mod11_digit("036532") == "7"
    # A sum divisible by 11 gives 0, not 11: 31 → 1·2 + 3·3 = 11.
    assert mod11_digit("31") == "0"


@pytest.mark.parametrize(
    ("kid", "method", "valid"),
    [
        ("602243", MOD10, True),
        ("12344", MOD10, True),
        ("2345676", MOD10, True),
        ("0044555258", MOD10, True),
        ("006402710013", MOD10, True),
        ("2345674", MOD10, False),
        ("0044555251", MOD10, False),
        ("12345", MOD10, False),
        ("12343", MOD11, True),
        ("0365327", MOD11, True),
        ("12345678903", MOD11, True),
        ("036536-", MOD11, True),
        ("2707841373001170014", MOD11, True),
        ("1677036255", MOD11, False),
        ("12344", MOD11, False),
        ("036536-", MOD10, False),  # a hyphen is never a MOD10 check digit
        ("0365320", MOD11, False),
    ],
)
def test_published_kids(kid: str, method: KidMethod, valid: bool) -> None:
    assert is_valid_kid(kid, method) is valid


@pytest.mark.parametrize(
    ("base", "method", "kid"),
    [("60224", MOD10, "602243"), ("1234", MOD10, "12344"), ("1234", MOD11, "12343"),
     ("036536", MOD11, "036536-"), ("036532", MOD11, "0365327")],
)  # fmt: skip
def test_making_a_kid(base: str, method: KidMethod, kid: str) -> None:
    assert make_kid(base, method) == kid
    assert kid_error(kid, method) is None


@pytest.mark.parametrize(
    ("kid", "message"),
    [
        ("12A44", "must be digits"),
        ("5", "is 1 characters long, not 2-25"),
        ("1" * 25 + "8", "is 26 characters long"),
        ("12345", "wrong MOD10 check digit"),
    ],
)
def test_kid_errors_say_what_is_wrong(kid: str, message: str) -> None:
    assert message in (kid_error(kid, MOD10) or "")


def test_a_kid_needs_digits_and_room_for_its_check_digit() -> None:
    with pytest.raises(ValueError, match="not digits only"):
        make_kid("12-34")
    with pytest.raises(ValueError, match="26 digits, not 2-25"):
        make_kid("1" * 25)


@pytest.mark.parametrize(
    ("base", "length_digit", "ocr"),
    [
        # 123: Luhn 3·2=6, 2, 1·2=2 → 10, check 0.
        ("123", False, "1230"),
        # 123 + length 5 (5 digits in all) = 1235: 5·2=10 → 1, 3, 2·2=4, 1 → 9, check 1.
        ("123", True, "12351"),
        ("2019121", True, "201912193"),
        ("100421001", True, "10042100114"),
    ],
)
def test_making_an_ocr_reference(base: str, length_digit: bool, ocr: str) -> None:
    assert make_ocr(base, length_digit=length_digit) == ocr
    assert ocr_error(ocr, length_digit=length_digit) is None


@pytest.mark.parametrize(
    "ocr",
    ["18108401345678778", "18196701475307475", "1018966492531", "1019080881039",
     "03368912618", "1202951008", "1636976"],
)  # fmt: skip
def test_references_bankgirot_accepts_with_variable_length_control(ocr: str) -> None:
    assert is_valid_ocr(ocr, length_digit=True)
    assert is_valid_ocr(ocr)  # a reference with a length digit passes the plain check too


@pytest.mark.parametrize(
    ("ocr", "length_digit", "lengths", "message"),
    [
        ("1230", True, (), "wrong length digit"),  # 4 digits, but says 3
        ("12352", False, (), "wrong check digit"),
        ("12351", False, (7, 10), "has 5 digits, not 7 or 10"),
        ("12 351", False, (), "digits only"),
        ("1", False, (), "is 1 digits long, not 2-25"),
    ],
)
def test_ocr_errors_say_what_is_wrong(
    ocr: str, length_digit: bool, lengths: tuple[int, ...], message: str
) -> None:
    assert message in (ocr_error(ocr, length_digit=length_digit, lengths=lengths) or "")


def test_fixed_length_control_accepts_an_agreed_length() -> None:
    assert is_valid_ocr("12351", lengths=(5, 10))


def test_an_ocr_reference_is_at_most_25_digits() -> None:
    assert len(make_ocr("1" * 23, length_digit=True)) == 25
    with pytest.raises(ValueError, match="26 digits"):
        make_ocr("1" * 24, length_digit=True)
