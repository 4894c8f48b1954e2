"""Business rules as data: discounts and approval, routing after signing, the catalogue and the
clause library (SPEC III D2, IV C3-C4). Expected values are worked out by hand from the
default rule files, so a change to those files shows up here as a deliberate edit."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from avtale.rules import (
    RuleError,
    load_catalogue,
    load_discount_rules,
    load_routing_rules,
    price_lines,
    route,
    routing_facts,
)
from avtale.rules.routing import (
    CATALOGUE,
    ROUTING_FILE,
    parse_routing_rules,
    whole_months,
    with_catalogue,
)

ROOT = Path(__file__).resolve().parents[1]
CLAUSES = ROOT / "docgen" / "builtin" / "clauses.yaml"
LANGUAGES = ("nb", "da", "sv", "de", "nl", "en")
D = Decimal


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- discounts ----------------------------------------------------------------------


def line(
    product: str = "ASSIST",
    quantity: str | int = 10,
    period: str = "monthly",
    manual: str | int | None = None,
    price: str = "149",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "product": product,
        "quantity": D(quantity),
        "unit_price": D(price),
        "discount_percent": None if manual is None else D(manual),
        "billing_period": period,
        **extra,
    }


# Default rules: "*" recurring tiers 10 -> 5, 25 -> 10, 50 -> 15, 100 -> 20; TRAINING-DAY
# one-off 5 -> 10; +5 for a term of 36 months or more on recurring lines; cap 20.
@pytest.mark.parametrize(
    ("product", "quantity", "period", "term", "manual", "automatic", "applied"),
    [
        pytest.param("ASSIST", 9, "monthly", 12, None, "0", "0", id="9-below-first-tier"),
        pytest.param("ASSIST", "9.99", "monthly", 12, None, "0", "0", id="9.99-below-first-tier"),
        pytest.param("ASSIST", 10, "monthly", 12, None, "5", "5", id="10-first-tier"),
        pytest.param("ASSIST", 24, "monthly", 12, None, "5", "5", id="24-still-first-tier"),
        pytest.param("ASSIST", 25, "monthly", 12, None, "10", "10", id="25-second-tier"),
        pytest.param("ASSIST", 49, "monthly", 12, None, "10", "10", id="49-still-second-tier"),
        pytest.param("ASSIST", 50, "monthly", 12, None, "15", "15", id="50-third-tier"),
        pytest.param("ASSIST", 99, "monthly", 12, None, "15", "15", id="99-still-third-tier"),
        pytest.param("ASSIST", 100, "monthly", 12, None, "20", "20", id="100-top-tier"),
        pytest.param("API", 25, "monthly", None, None, "10", "10", id="any-product-no-term"),
        pytest.param("ASSIST", 10, "monthly", 35, None, "5", "5", id="term-35-no-bonus"),
        pytest.param("ASSIST", 10, "monthly", 36, None, "10", "10", id="term-36-bonus"),
        pytest.param("ASSIST", 10, "monthly", 48, None, "10", "10", id="term-48-bonus"),
        pytest.param("ASSIST", 9, "monthly", 36, None, "5", "5", id="bonus-without-tier"),
        pytest.param("SUPPORT-PREMIUM", 1, "yearly", 36, None, "5", "5", id="bonus-yearly"),
        pytest.param("ASSIST", 50, "monthly", 36, None, "20", "20", id="15+5-at-cap"),
        pytest.param("ASSIST", 100, "monthly", 36, None, "20", "20", id="20+5-capped-at-20"),
        pytest.param("SETUP", 10, "one_off", 36, None, "0", "0", id="one-off-no-tier-no-bonus"),
        pytest.param("TRAINING-DAY", 4, "one_off", 36, None, "0", "0", id="own-tier-not-reached"),
        pytest.param("TRAINING-DAY", 5, "one_off", 36, None, "10", "10", id="own-one-off-tier"),
        pytest.param("training-day", 5, "one_off", 12, None, "10", "10", id="code-any-case"),
        pytest.param("ASSIST", 10, "monthly", 12, 8, "5", "8", id="manual-above-automatic"),
        pytest.param("ASSIST", 25, "monthly", 12, 3, "10", "10", id="automatic-above-manual"),
        pytest.param("ASSIST", 10, "monthly", 12, 5, "5", "5", id="manual-equals-automatic"),
        pytest.param("ASSIST", 1, "monthly", 12, "12.5", "0", "12.5", id="manual-only"),
    ],
)
def test_automatic_discount_is_tier_plus_bonus_capped_and_a_higher_manual_one_wins(
    product: str,
    quantity: str | int,
    period: str,
    term: int | None,
    manual: str | int | None,
    automatic: str,
    applied: str,
) -> None:
    pricing = price_lines([line(product, quantity, period, manual)], term_months=term)
    (priced,) = pricing.lines
    assert priced.automatic_percent == D(automatic)
    assert priced.manual_percent == D(manual or 0)
    assert priced.discount_percent == D(applied)
    assert pricing.rules_version == 1


@pytest.mark.parametrize(
    ("quantity", "term", "manual", "reasons"),
    [
        pytest.param(9, 12, None, [], id="nothing-applies"),
        pytest.param(25, 12, None, ["10 % volume discount for 25 or more"], id="tier"),
        pytest.param(
            100,
            36,
            None,
            [
                "20 % volume discount for 100 or more",
                "+5 % term bonus for 36 months or more",
                "automatic 25 % capped at 20 %",
            ],
            id="tier-bonus-cap",
        ),
        pytest.param(
            10,
            12,
            8,
            ["5 % volume discount for 10 or more", "manual 8 % is higher than the automatic 5 %"],
            id="manual-wins",
        ),
    ],
)
def test_each_line_says_which_tier_bonus_and_cap_applied(
    quantity: int, term: int, manual: int | None, reasons: list[str]
) -> None:
    (priced,) = price_lines([line(quantity=quantity, manual=manual)], term_months=term).lines
    assert priced.reasons == reasons


def test_amounts_are_exact_decimals_per_billing_period() -> None:
    (priced,) = price_lines([line(quantity=25, price="149.90")], term_months=12).lines
    assert priced.list_amount == D("3747.50")  # 25 x 149.90
    assert priced.amount == D("3372.75")  # less 10 %
    assert isinstance(priced.amount, Decimal)


@pytest.mark.parametrize(
    ("lines", "reasons"),
    [
        pytest.param([line(manual=20)], [], id="exactly-20-no-approval"),
        pytest.param(
            [line(manual="20.01")],
            ["line 1 (ASSIST): 20.01 % is above the 20 % that needs approval"],
            id="just-above-20",
        ),
        pytest.param([line(quantity=100)], [], id="automatic-20-never-needs-approval"),
        pytest.param(
            [line(quantity=10), line(quantity=25, manual=25, description="Assist licence")],
            ["line 2 (Assist licence): 25 % is above the 20 % that needs approval"],
            id="second-line-by-description",
        ),
        pytest.param([line("SETUP", 1, "one_off")], [], id="setup-fee-full-price"),
        pytest.param(
            [line("SETUP", 1, "one_off", manual=5)],
            ["line 1 (SETUP): any discount on this one-off fee needs approval (5 % given)"],
            id="setup-fee-any-discount",
        ),
        pytest.param(
            [line("SETUP", 1, "one_off", manual=30, name="Setup fee")],
            [
                "line 1 (Setup fee): 30 % is above the 20 % that needs approval",
                "line 1 (Setup fee): any discount on this one-off fee needs approval (30 % given)",
            ],
            id="setup-fee-both-rules",
        ),
        pytest.param(
            [line("DIGITAL-ONBOARDING", 1, "one_off", manual=100)],
            [],
            id="digital-onboarding-100-exempt-seed-004",
        ),
        pytest.param(
            [line("TRAINING-DAY", 2, "one_off", manual=25)],
            ["line 1 (TRAINING-DAY): 25 % is above the 20 % that needs approval"],
            id="other-one-off-threshold-only",
        ),
    ],
)
def test_a_discount_above_the_threshold_or_on_a_setup_fee_needs_approval(
    lines: list[dict[str, Any]], reasons: list[str]
) -> None:
    pricing = price_lines(lines, term_months=12)
    assert pricing.approval_reasons == reasons
    assert pricing.needs_approval is bool(reasons)
    flagged = {f"line {priced.number} " for priced in pricing.lines if priced.needs_approval}
    assert flagged == {reason.split("(")[0] for reason in reasons}


def test_pricing_as_dict_is_json_friendly() -> None:
    data = price_lines([line(quantity=25)], term_months=36).as_dict()
    assert data["rules_version"] == 1
    assert data["lines"][0]["discount_percent"] == "15"
    assert data["lines"][0]["amount"] == "3166.25"  # 25 x 149 x 0.85


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        pytest.param({"quantity": "ten"}, "lines[0].quantity: must be a number", id="quantity"),
        pytest.param({"unit_price": None}, "lines[0].unit_price: must be a number", id="price"),
        pytest.param({"product": ""}, "lines[0].product: is required", id="product"),
        pytest.param(
            {"discount_percent": D(101)},
            "lines[0].discount_percent: must be between 0 and 100",
            id="manual-over-100",
        ),
    ],
)
def test_malformed_lines_are_refused_by_position(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        price_lines([line() | bad], term_months=12)


def test_rules_from_another_file_apply_with_their_version(tmp_path: Path) -> None:
    rules = load_discount_rules(
        write(
            tmp_path,
            "discounts.yaml",
            """\
            version: 7
            max_automatic_percent: 12
            volume_tiers:
              - product: "*"
                tiers: [{min_quantity: 10, percent: 10}]
              - product: ASSIST
                tiers: [{min_quantity: 5, percent: 2}]
            term_bonus:
              - {min_term_months: 24, percent: 3}
              - {min_term_months: 12, percent: 1}
            approval: {threshold_percent: 10}
            """,
        )
    )
    pricing = price_lines(
        [line("API", 10), line("ASSIST", 10), line("API", 10, manual="10.5")],
        term_months=24,
        rules=rules,
    )
    # API: 10 + 3 capped at 12; ASSIST: its own tiers (2) + the longest bonus reached (3).
    assert [priced.discount_percent for priced in pricing.lines] == [D(12), D(5), D(12)]
    assert pricing.rules_version == 7
    assert pricing.approval_reasons == [
        "line 1 (API): 12 % is above the 10 % that needs approval",
        "line 3 (API): 12 % is above the 10 % that needs approval",
    ]


# --- routing ------------------------------------------------------------------------


def terms(*lines: dict[str, Any], start: str = "2022-03-15") -> dict[str, Any]:
    return {"start_date": date.fromisoformat(start), "lines": list(lines)}


def assist(
    quantity: int, price: str = "149", discount: str = "0", product: str = "ASSIST"
) -> dict[str, Any]:
    return {
        "product": product,
        "quantity": D(quantity),
        "unit_price": D(price),
        "discount_percent": D(discount),
        "billing_period": "monthly",
        "start_date": None,
    }


SETUP_LINE = {
    "product": "SETUP",
    "quantity": D(1),
    "unit_price": D(7500),
    "discount_percent": D(0),
    "billing_period": "one_off",
}
SIGNED = date(2025, 1, 10)
A_YEAR_AGO = date(2024, 1, 10)
INVOICING = ("invoicing", "task")


@pytest.mark.parametrize(
    ("old", "new", "original", "routes"),
    [
        pytest.param(
            terms(assist(100)),
            terms(assist(91)),
            A_YEAR_AGO,
            [("reduction_under_10_licences", *INVOICING)],
            id="9-of-100-reduced",
        ),
        pytest.param(
            terms(assist(20)),
            terms(assist(11)),
            A_YEAR_AGO,
            [("reduction_under_10_licences", *INVOICING)],
            id="9-of-20-reduced-45pct-count-rule-first",
        ),
        pytest.param(
            terms(assist(100)),
            terms(assist(90)),
            A_YEAR_AGO,
            [("reduction_under_20_percent", *INVOICING)],
            id="exactly-10-of-100-10pct",
        ),
        pytest.param(
            terms(assist(150)),
            terms(assist(121)),
            A_YEAR_AGO,
            [("reduction_under_20_percent", *INVOICING)],
            id="29-of-150-19.3pct",
        ),
        pytest.param(
            terms(assist(150)),
            terms(assist(120)),
            A_YEAR_AGO,
            [("reduction_20_percent_or_more", "customer_success", "task")],
            id="30-of-150-exactly-20pct",
        ),
        pytest.param(
            terms(assist(40)),
            terms(assist(30)),
            A_YEAR_AGO,
            [("reduction_20_percent_or_more", "customer_success", "task")],
            id="10-of-40-25pct",
        ),
        pytest.param(
            terms(assist(40)),
            terms(assist(45)),
            date(2022, 2, 10),
            [
                ("increase_within_36_months", "sales_registration", "notify"),
                ("licence_increase", *INVOICING),
            ],
            id="increase-at-35-months",
        ),
        pytest.param(
            terms(assist(40)),
            terms(assist(45)),
            date(2022, 1, 11),
            [
                ("increase_within_36_months", "sales_registration", "notify"),
                ("licence_increase", *INVOICING),
            ],
            id="increase-a-day-before-36-months",
        ),
        pytest.param(
            terms(assist(40)),
            terms(assist(45)),
            date(2022, 1, 10),
            [("licence_increase", *INVOICING)],
            id="increase-at-exactly-36-months",
        ),
        pytest.param(
            terms(assist(40)),
            terms(assist(45)),
            date(2021, 12, 10),
            [("licence_increase", *INVOICING)],
            id="increase-at-37-months",
        ),
        pytest.param(
            terms(assist(40)),
            terms(assist(45)),
            None,
            [("licence_increase", *INVOICING)],
            id="increase-without-original-signature-date",
        ),
        pytest.param(
            terms(assist(40)),
            terms(assist(40, price="139")),
            A_YEAR_AGO,
            [("price_or_start_date_change", *INVOICING)],
            id="price-only",
        ),
        pytest.param(
            terms(assist(40)),
            terms(assist(40, discount="10")),
            A_YEAR_AGO,
            [("price_or_start_date_change", *INVOICING)],
            id="discount-only",
        ),
        pytest.param(
            terms(assist(40)),
            terms(assist(40), start="2025-02-01"),
            A_YEAR_AGO,
            [("price_or_start_date_change", *INVOICING)],
            id="start-date-only",
        ),
        pytest.param(terms(assist(40)), terms(assist(40)), A_YEAR_AGO, [], id="no-change"),
        pytest.param(
            terms(assist(40), SETUP_LINE),
            terms(assist(40)),
            A_YEAR_AGO,
            [],
            id="one-off-line-dropped-is-no-licence-change",
        ),
        pytest.param(
            terms(assist(60), assist(40, "249", product="ASSIST-PLUS"), SETUP_LINE),
            terms(assist(55), assist(35, "249", product="ASSIST-PLUS")),
            A_YEAR_AGO,
            [("reduction_under_20_percent", *INVOICING)],
            id="several-lines-10-of-100",
        ),
        pytest.param(
            terms(assist(30), assist(10, "249", product="ASSIST-PLUS")),
            terms(assist(24), assist(4, "249", product="ASSIST-PLUS")),
            A_YEAR_AGO,
            [("reduction_20_percent_or_more", "customer_success", "task")],
            id="several-lines-12-of-40",
        ),
    ],
)
def test_routing_follows_seed_004(
    old: dict[str, Any],
    new: dict[str, Any],
    original: date | None,
    routes: list[tuple[str, str, str]],
) -> None:
    result = route(old, new, original_signed_date=original, signed_on=SIGNED)
    assert [(r.rule, r.team, r.action) for r in result] == routes
    assert all(r.rules_version == 2 for r in result)


@pytest.mark.parametrize(
    ("old", "new", "changes"),
    [
        pytest.param(
            terms(assist(100)),
            terms(assist(90, price="139")),
            {
                "price": [
                    [{"product": "ASSIST", "unit_price": "149", "discount_percent": "0"}],
                    [{"product": "ASSIST", "unit_price": "139", "discount_percent": "0"}],
                ],
                "licences": ["100", "90"],
            },
            id="licences-and-price",
        ),
        pytest.param(
            terms(assist(40)),
            terms(assist(40), start="2025-02-01"),
            {"start_date": ["2022-03-15", "2025-02-01"]},
            id="contract-start",
        ),
        pytest.param(
            terms(assist(40)),
            terms(assist(40) | {"start_date": "2025-02-01"}),
            {"start_date": ["2022-03-15", "2025-02-01"]},
            id="line-start-as-iso-text",
        ),
    ],
)
def test_a_route_says_only_what_changed(
    old: dict[str, Any], new: dict[str, Any], changes: dict[str, Any]
) -> None:
    (result,) = route(old, new, original_signed_date=A_YEAR_AGO, signed_on=SIGNED)
    assert result.changes == changes


def test_titles_name_the_facts() -> None:
    titles = [
        r.title
        for r in route(
            terms(assist(150)),
            terms(assist(121)),
            original_signed_date=A_YEAR_AGO,
            signed_on=SIGNED,
        )
    ]
    assert titles == ["Licence reduction of 29 (19.3 %) from 2025-01-10: update invoicing"]


def test_invoicing_is_told_from_when_the_new_terms_apply() -> None:
    routes = route(
        terms(assist(40)),
        terms(assist(45)),
        original_signed_date=A_YEAR_AGO,
        signed_on=SIGNED,
        effective_date=date(2025, 2, 1),
    )
    invoicing = [r.title for r in routes if r.team == "invoicing"]
    assert invoicing == ["Licence increase of 5 (40 to 45) from 2025-02-01: update invoicing"]


def test_licences_are_the_catalogues_licence_products_by_code_or_name() -> None:
    """Seed 004 counts licences: adding "API access" (recurring, but no licence) to a
    contract is a price change, not "1 more licences"; a line that names the product
    instead of its code ("Assist licence", as contract lines do) still counts."""
    api = assist(1, price="990", product="API")
    routes = route(
        terms(assist(40)), terms(assist(40), api), original_signed_date=A_YEAR_AGO, signed_on=SIGNED
    )
    # No more licences, but invoicing must bill the new line.
    assert [(r.rule, r.changes) for r in routes] == [
        (
            "price_or_start_date_change",
            {"lines": [[], [{"product": "API", "unit_price": "990", "discount_percent": "0"}]]},
        )
    ]
    facts = route(
        terms(assist(40, product="Assist licence")),
        terms(assist(30, product="assist licence"), assist(5, product="Assist Plus licence")),
        original_signed_date=A_YEAR_AGO,
        signed_on=SIGNED,
    )
    assert [(r.rule, r.title.split(" from ")[0]) for r in facts] == [
        ("reduction_under_10_licences", "Licence reduction of 5 (40 to 35)")
    ]
    # Resolved against another catalogue (the database's), only what it flags counts.
    rules = with_catalogue(load_routing_rules(), [("API", "API access")])
    flagged = route(
        terms(assist(40)),
        terms(assist(40), api),
        original_signed_date=A_YEAR_AGO,
        signed_on=SIGNED,
        rules=rules,
    )
    assert [r.rule for r in flagged] == ["increase_within_36_months", "licence_increase"]
    assert flagged[1].changes["licences"] == ["0", "1"]


def test_a_teams_notices_may_also_go_by_mail() -> None:
    assert load_routing_rules().emails == {"sales_registration": "salgsregistrering@avtale.example"}
    base = yaml.safe_load(ROUTING_FILE.read_text(encoding="utf-8"))
    for emails, problem in [
        ({"sales_registration": "not an address"}, "is not an e-mail address"),
        ({"marketing": "a@b.example"}, "unknown key 'marketing'"),
    ]:
        with pytest.raises(RuleError, match=problem):
            parse_routing_rules(base | {"emails": emails})


def test_facts_are_exact() -> None:
    facts = routing_facts(
        terms(assist(150)),
        terms(assist(120)),
        original_signed_date=date(2022, 3, 15),
        signed_on=date(2025, 3, 14),
    )
    assert facts.reduced_pct == D(20)  # exactly: 30 x 100 / 150
    assert (facts.licences_old, facts.licences_new, facts.reduced_by) == (D(150), D(120), D(30))
    assert (facts.licence_change, facts.increased_by) == ("reduction", D(0))
    assert facts.months_since_original_signature == 35
    assert not facts.price_changed and not facts.start_date_changed
    # The same rules as route's: an API line added is no licence (routing.yaml: catalogue).
    added = routing_facts(
        terms(assist(150)),
        terms(assist(150), assist(5, "990", product="API access")),
        original_signed_date=date(2022, 3, 15),
        signed_on=date(2025, 3, 14),
    )
    assert (added.licences_old, added.licences_new, added.licence_change) == (
        D(150),
        D(150),
        "none",
    )


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        pytest.param("2022-03-15", "2025-03-14", 35, id="a-day-short-of-36"),
        pytest.param("2022-03-15", "2025-03-15", 36, id="36-to-the-day"),
        pytest.param("2022-03-15", "2025-04-15", 37, id="37"),
        pytest.param("2024-01-31", "2024-02-28", 0, id="jan-31-to-feb-28-leap-year"),
        pytest.param("2024-01-31", "2024-02-29", 1, id="jan-31-to-month-end"),
        pytest.param("2024-01-31", "2024-03-01", 1, id="jan-31-to-mar-1"),
        pytest.param("2025-01-10", "2025-01-10", 0, id="same-day"),
    ],
)
def test_whole_months_since_signature(start: str, end: str, months: int) -> None:
    assert whole_months(date.fromisoformat(start), date.fromisoformat(end)) == months


def test_lines_pair_by_line_number_when_every_line_has_one() -> None:
    old = terms(assist(10) | {"line_no": 1}, assist(5, "99") | {"line_no": 2})
    # Same products in another order: by number, only line 2's price changed.
    new = terms(assist(5, "89") | {"line_no": 2}, assist(10) | {"line_no": 1})
    (result,) = route(old, new, original_signed_date=A_YEAR_AGO, signed_on=SIGNED)
    assert result.changes["price"][1] == [
        {"product": "ASSIST", "unit_price": "89", "discount_percent": "0"}
    ]


def test_licence_products_stop_and_lists_are_configurable(tmp_path: Path) -> None:
    rules = load_routing_rules(
        write(
            tmp_path,
            "routing.yaml",
            """\
            version: 3
            licence_products: [ASSIST]
            rules:
              - name: unknown_signature_date
                when: {licence_change: [increase, reduction], months_since_original_signature: null}
                route_to: sales_registration
                action: notify
                title: "Check the original signature ({licence_change})"
                stop: true
              - name: any_licence_change
                when: {licence_change: [increase, reduction]}
                route_to: invoicing
                action: task
                title: "{licences_old} to {licences_new}"
            """,
        )
    )
    api = assist(1, "990", product="API")
    # Only ASSIST counts: dropping API is no licence change, so nothing routes.
    dropped = route(
        terms(assist(10), api),
        terms(assist(10)),
        original_signed_date=None,
        signed_on=SIGNED,
        rules=rules,
    )
    assert dropped == []
    (stopped,) = route(
        terms(assist(10)),
        terms(assist(12)),
        original_signed_date=None,
        signed_on=SIGNED,
        rules=rules,
    )
    assert (stopped.rule, stopped.title, stopped.rules_version) == (
        "unknown_signature_date",
        "Check the original signature (increase)",
        3,
    )
    (known,) = route(
        terms(assist(10)),
        terms(assist(7)),
        original_signed_date=A_YEAR_AGO,
        signed_on=SIGNED,
        rules=rules,
    )
    assert (known.rule, known.title) == ("any_licence_change", "10 to 7")


# --- bad rule files -----------------------------------------------------------------

ROUTING_HEAD = """\
version: 1
rules:
  - {name: a, when: {licence_change: reduction}, route_to: invoicing, action: task, title: A}
  - {name: b, when: {price_changed: true}, route_to: invoicing, action: task, title: B}
"""


def test_settings_files_read_by_libyaml_give_what_the_python_parser_gives(tmp_path: Path) -> None:
    """read_yaml parses with PyYAML's C loader (libyaml, shipped in its wheel); every shipped
    settings and rule file reads the same as with the pure-Python safe loader, and a broken
    file still gets the Python parser's message (which names the tab)."""
    from avtale.rules.loading import CONFIG_DIR, FAST_LOADER, RULES_DIR, read_yaml

    assert FAST_LOADER is yaml.CSafeLoader
    files = [*CONFIG_DIR.glob("*.yaml"), *RULES_DIR.glob("*.yaml")]
    assert len(files) >= 5
    for path in files:
        assert read_yaml(path) == (path.name, yaml.safe_load(path.read_text(encoding="utf-8")))
    broken = tmp_path / "limits.yaml"
    broken.write_text("limits:\n\tmax_term_months: 120\n", encoding="utf-8")
    with pytest.raises(RuleError, match="found character '\\\\t' that cannot start any token"):
        read_yaml(broken)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            ROUTING_HEAD
            + "  - {name: c, when: {reduced_pct: {lte2: 20}}, route_to: invoicing, action: task, title: C}\n",
            "routing.yaml: rules[2].when.reduced_pct: unknown comparison 'lte2'",
            id="unknown-comparison",
        ),
        pytest.param(
            ROUTING_HEAD
            + "  - {name: c, when: {reduced_pc: 20}, route_to: invoicing, action: task, title: C}\n",
            "routing.yaml: rules[2].when.reduced_pc: unknown fact 'reduced_pc'",
            id="unknown-fact",
        ),
        pytest.param(
            ROUTING_HEAD
            + "  - {name: c, when: {price_changed: true}, route_to: sales, action: task, title: C}\n",
            "routing.yaml: rules[2].route_to: unknown value 'sales'",
            id="unknown-team",
        ),
        pytest.param(
            ROUTING_HEAD
            + "  - {name: c, when: {price_changed: true}, route_to: invoicing, action: mail, title: C}\n",
            "routing.yaml: rules[2].action: unknown value 'mail'",
            id="unknown-action",
        ),
        pytest.param(
            ROUTING_HEAD
            + "  - {name: a, when: {price_changed: true}, route_to: invoicing, action: task, title: C}\n",
            "routing.yaml: rules[2].name: 'a' is already used by rules[0]",
            id="duplicate-name",
        ),
        pytest.param(
            ROUTING_HEAD
            + "  - {name: c, when: {licence_change: {lt: 5}}, route_to: invoicing, action: task, title: C}\n",
            "routing.yaml: rules[2].when.licence_change: 'lt' compares numbers",
            id="comparison-on-a-choice",
        ),
        pytest.param(
            ROUTING_HEAD
            + "  - {name: c, when: {licence_change: fewer}, route_to: invoicing, action: task, title: C}\n",
            "routing.yaml: rules[2].when.licence_change: unknown value 'fewer'",
            id="unknown-choice",
        ),
        pytest.param(
            ROUTING_HEAD
            + "  - {name: c, when: {price_changed: maybe}, route_to: invoicing, action: task, title: C}\n",
            "routing.yaml: rules[2].when.price_changed: must be true or false",
            id="bool-fact",
        ),
        pytest.param(
            ROUTING_HEAD
            + "  - {name: c, when: {reduced_by: {gte: ten}}, route_to: invoicing, action: task, title: C}\n",
            "routing.yaml: rules[2].when.reduced_by.gte: must be a number",
            id="comparison-value",
        ),
        pytest.param(
            ROUTING_HEAD + "  - {name: c, when: {}, route_to: invoicing, action: task, title: C}\n",
            "routing.yaml: rules[2].when: needs at least one condition",
            id="empty-when",
        ),
        pytest.param(
            ROUTING_HEAD
            + "  - {name: c, when: [{price_changed: true}, yes], route_to: invoicing, action: task, title: C}\n",
            "routing.yaml: rules[2].when[1]: must be a mapping of facts",
            id="when-list-item",
        ),
        pytest.param(
            ROUTING_HEAD
            + "  - {name: c, when: {price_changed: true}, route_to: invoicing, action: task, title: '{reduction}'}\n",
            "routing.yaml: rules[2].title: unknown fact '{reduction}'",
            id="title-placeholder",
        ),
        pytest.param(
            ROUTING_HEAD
            + "  - {name: c, when: {price_changed: true}, route_to: invoicing, action: task}\n",
            "routing.yaml: rules[2].title: is required",
            id="missing-title",
        ),
        pytest.param(
            ROUTING_HEAD
            + "  - {name: c, when: {price_changed: true}, route_to: invoicing, action: task, title: C, stop: 1}\n",
            "routing.yaml: rules[2].stop: must be true or false",
            id="stop-not-bool",
        ),
        pytest.param(
            ROUTING_HEAD.replace("version: 1\n", ""),
            "routing.yaml: version: is required",
            id="no-version",
        ),
        pytest.param(
            ROUTING_HEAD.replace("version: 1", "version: one"),
            "routing.yaml: version: must be a whole number",
            id="version-not-a-number",
        ),
        pytest.param(
            ROUTING_HEAD + "teams: [invoicing]\n",
            "routing.yaml: teams: unknown key 'teams'",
            id="unknown-top-level-key",
        ),
        pytest.param(
            "version: 1\nrules: []\n",
            "routing.yaml: rules: must not be empty",
            id="no-rules",
        ),
        pytest.param(
            "version: 1\nrules: [\n",
            "routing.yaml: line 3, column 1: is not valid YAML",
            id="not-yaml",
        ),
        pytest.param("", "routing.yaml: is empty", id="empty-file"),
        pytest.param("- version: 1\n", "routing.yaml: must be a mapping", id="a-list"),
    ],
)
def test_bad_routing_files_name_file_and_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError, match="^" + re.escape(message)):
        load_routing_rules(path)


DISCOUNTS_HEAD = """\
version: 1
max_automatic_percent: 20
approval: {threshold_percent: 20}
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            DISCOUNTS_HEAD
            + "volume_tiers:\n  - product: '*'\n    tiers: [{min_quantity: 10, percent: 5}, {min_quantity: 20, percent: 105}]\n",
            "discounts.yaml: volume_tiers[0].tiers[1].percent: must be 100 or less",
            id="percent-over-100",
        ),
        pytest.param(
            DISCOUNTS_HEAD
            + "volume_tiers:\n  - product: '*'\n    tiers: [{min_quantity: -1, percent: 5}]\n",
            "discounts.yaml: volume_tiers[0].tiers[0].min_quantity: must be 0 or more",
            id="negative-quantity",
        ),
        pytest.param(
            DISCOUNTS_HEAD
            + "volume_tiers:\n  - product: '*'\n    tiers: [{min_quantity: 10, percent: 5}, {min_quantity: 10, percent: 7}]\n",
            "discounts.yaml: volume_tiers[0].tiers[1].min_quantity: 10 is given twice",
            id="same-tier-twice",
        ),
        pytest.param(
            DISCOUNTS_HEAD
            + "volume_tiers:\n  - {product: ASSIST, tiers: [{min_quantity: 1, percent: 1}]}\n"
            + "  - {product: assist, tiers: [{min_quantity: 1, percent: 1}]}\n",
            "discounts.yaml: volume_tiers[1].product: 'assist' already has tiers at volume_tiers[0]",
            id="product-twice",
        ),
        pytest.param(
            DISCOUNTS_HEAD
            + "volume_tiers:\n  - {product: '*', applies_to: setup, tiers: [{min_quantity: 1, percent: 1}]}\n",
            "discounts.yaml: volume_tiers[0].applies_to: unknown value 'setup'",
            id="applies-to",
        ),
        pytest.param(
            DISCOUNTS_HEAD + "volume_tiers:\n  - {product: '*', tiers: []}\n",
            "discounts.yaml: volume_tiers[0].tiers: must not be empty",
            id="no-tiers",
        ),
        pytest.param(
            DISCOUNTS_HEAD + "term_bonus:\n  - {min_term_months: 0, percent: 5}\n",
            "discounts.yaml: term_bonus[0].min_term_months: must be 1 or more",
            id="bonus-months",
        ),
        pytest.param(
            DISCOUNTS_HEAD + "term_bonus:\n  - {min_term_months: 36, pct: 5}\n",
            "discounts.yaml: term_bonus[0].pct: unknown key 'pct'",
            id="bonus-key",
        ),
        pytest.param(
            DISCOUNTS_HEAD.replace("approval: {threshold_percent: 20}\n", ""),
            "discounts.yaml: approval: is required",
            id="no-approval",
        ),
        pytest.param(
            DISCOUNTS_HEAD.replace("threshold_percent: 20", "threshold_percent: high"),
            "discounts.yaml: approval.threshold_percent: must be a number",
            id="threshold-not-a-number",
        ),
        pytest.param(
            DISCOUNTS_HEAD.replace(
                "threshold_percent: 20}", "threshold_percent: 20, any_discount_on_one_off: SETUP}"
            ),
            "discounts.yaml: approval.any_discount_on_one_off: must be a list",
            id="product-list",
        ),
        pytest.param(
            DISCOUNTS_HEAD.replace("max_automatic_percent: 20", "max_automatic_percent: yes"),
            "discounts.yaml: max_automatic_percent: must be a number",
            id="yaml-boolean-is-not-a-number",
        ),
    ],
)
def test_bad_discount_files_name_file_and_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "discounts.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError, match="^" + re.escape(message)):
        load_discount_rules(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"^discounts\.yaml: no such file"):
        load_discount_rules(tmp_path / "discounts.yaml")


def test_rule_error_keeps_file_and_path_apart(tmp_path: Path) -> None:
    path = write(
        tmp_path, "routing.yaml", ROUTING_HEAD.replace("route_to: invoicing", "route_to: x", 1)
    )
    with pytest.raises(RuleError) as raised:
        load_routing_rules(path)
    assert (raised.value.source, raised.value.path) == ("routing.yaml", "rules[0].route_to")


# --- catalogue ----------------------------------------------------------------------


def test_the_catalogue_has_licences_one_offs_and_every_price_list() -> None:
    products = {product.code: product for product in load_catalogue()}
    assert list(products) == [
        "ASSIST",
        "ASSIST-PLUS",
        "DIGITAL-ONBOARDING",
        "SETUP",
        "SUPPORT-PREMIUM",
        "TRAINING-DAY",
        "API",
        "STORAGE-100",
    ]
    assert {code for code, product in products.items() if product.licence} == {
        "ASSIST",
        "ASSIST-PLUS",
    }
    assert products["SETUP"].billing_period == "one_off"
    assert products["ASSIST"].price("standard", "NOK") == D(149)
    assert products["ASSIST"].price("partner", "eur") == D("10.5")
    assert products["ASSIST"].price("campaign", "NOK") is None
    for product in products.values():
        for price_list in ("standard", "partner"):
            for currency in ("NOK", "DKK", "SEK", "EUR"):
                assert product.price(price_list, currency) is not None, (product.code, price_list)
        # The partner list is the lower one.
        partner, standard = product.price("partner", "NOK"), product.price("standard", "NOK")
        assert partner is not None and standard is not None and partner < standard


CATALOGUE_HEAD = """\
version: 1
products:
  - {code: ASSIST, name: Assist licence, billing_period: monthly, licence: true, prices: {standard: {NOK: 149}}}
"""


@pytest.mark.parametrize(
    ("product", "message"),
    [
        pytest.param(
            "{code: API, name: API, billing_period: monthy, prices: {standard: {NOK: 1}}}",
            "catalogue.yaml: products[1].billing_period: unknown value 'monthy'",
            id="unknown-billing-period",
        ),
        pytest.param(
            "{code: API, name: API, billing_period: monthly, prices: {standard: {NOK: -1}}}",
            "catalogue.yaml: products[1].prices.standard.NOK: must be 0 or more",
            id="negative-price",
        ),
        pytest.param(
            "{code: ASSIST, name: Again, billing_period: monthly, prices: {standard: {NOK: 1}}}",
            "catalogue.yaml: products[1].code: 'ASSIST' is already used by products[0]",
            id="duplicate-code",
        ),
        pytest.param(
            "{code: api, name: API, billing_period: monthly, prices: {standard: {NOK: 1}}}",
            "catalogue.yaml: products[1].code: 'api' must be capitals",
            id="lower-case-code",
        ),
        pytest.param(
            "{code: API, name: API, billing_period: monthly, prices: {standard: {kroner: 1}}}",
            "catalogue.yaml: products[1].prices.standard.kroner: 'kroner' is not a currency code",
            id="currency",
        ),
        pytest.param(
            "{code: API, name: API, billing_period: monthly, prices: {}}",
            "catalogue.yaml: products[1].prices: must map price lists",
            id="no-prices",
        ),
        pytest.param(
            "{code: API, name: API, billing_period: every_n_months, prices: {standard: {NOK: 1}}}",
            "catalogue.yaml: products[1].billing_interval_months: is required for every N months",
            id="every-n-months-without-n",
        ),
        pytest.param(
            "{code: API, name: API, billing_period: monthly, billing_interval_months: 2, prices: {standard: {NOK: 1}}}",
            "catalogue.yaml: products[1].billing_interval_months: only for billing every N months",
            id="interval-on-monthly",
        ),
        pytest.param(
            "{code: SETUP, name: Setup, billing_period: one_off, licence: true, prices: {standard: {NOK: 1}}}",
            "catalogue.yaml: products[1].licence: a licence must be billed periodically",
            id="one-off-licence",
        ),
        pytest.param(
            "{code: API, billing_period: monthly, prices: {standard: {NOK: 1}}}",
            "catalogue.yaml: products[1].name: is required",
            id="no-name",
        ),
    ],
)
def test_bad_catalogue_entries_name_file_and_entry(
    tmp_path: Path, product: str, message: str
) -> None:
    path = tmp_path / "catalogue.yaml"
    path.write_text(CATALOGUE_HEAD + f"  - {product}\n", encoding="utf-8")
    with pytest.raises(RuleError, match="^" + re.escape(message)):
        load_catalogue(path)


def test_every_n_months_product_keeps_its_interval(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "catalogue.yaml",
        CATALOGUE_HEAD
        + "  - {code: AUDIT, name: Audit, billing_period: every_n_months, billing_interval_months: 18, prices: {standard: {NOK: 9000}}}\n",
    )
    audit = load_catalogue(path)[1]
    assert (audit.billing_period, audit.billing_interval_months, audit.licence) == (
        "every_n_months",
        18,
        False,
    )


def test_rule_files_name_only_catalogue_products() -> None:
    codes = {product.code for product in load_catalogue()}
    rules = load_discount_rules()
    named = {tiers.product for tiers in rules.volume_tiers} - {"*"}
    named |= set(rules.approval.any_discount_on_one_off) | set(rules.approval.exempt_products)
    named |= set(load_routing_rules().licence_products) - {"*", CATALOGUE}
    for clause in yaml.safe_load(CLAUSES.read_text(encoding="utf-8")):
        named |= set(clause["conditions"].get("products", []))
    assert named <= codes, named - codes


def test_the_rules_package_imports_no_database_app_or_orchestration() -> None:
    code = (
        "import sys, avtale.rules; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'streamlit', 'dagster'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"


# --- clause library -----------------------------------------------------------------

ANSWERS: dict[str, set[Any] | None] = {
    "situation": {"new_customer", "existing_customer", "competitor_switch", "renewal"},
    "proposal": {"new_agreement", "upgrade", "downgrade", "renegotiation"},
    "products": None,  # catalogue codes, checked above
    "country": None,  # ISO 3166 codes, checked below
    "term_months": None,  # {min, max}
    "auto_renew": {True, False},
}


def clauses() -> list[dict[str, Any]]:
    data = yaml.safe_load(CLAUSES.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


@pytest.mark.parametrize("clause", clauses(), ids=lambda clause: clause["key"])
def test_every_clause_is_written_in_all_six_languages(clause: dict[str, Any]) -> None:
    assert set(clause) <= {"key", "order", "group", "conditions", "texts"}
    assert isinstance(clause["order"], int)
    assert tuple(clause["texts"]) == LANGUAGES
    for language, text in clause["texts"].items():
        assert set(text) == {"title", "body"}, language
        assert text["title"].strip() and len(text["title"]) <= 200, language
        body = text["body"]
        assert body == body.strip(), language
        assert "{{" not in body and "{%" not in body, language
        paragraphs = body.split("\n\n")
        assert 1 <= len(paragraphs) <= 3, language
        assert all(p.strip() and "\n" not in p for p in paragraphs), language


@pytest.mark.parametrize("clause", clauses(), ids=lambda clause: clause["key"])
def test_clause_conditions_use_known_answers(clause: dict[str, Any]) -> None:
    for answer, allowed in clause["conditions"].items():
        assert answer in ANSWERS, answer
        if answer == "term_months":
            assert set(allowed) <= {"min", "max"} and allowed
            continue
        assert isinstance(allowed, list) and allowed, answer
        values = ANSWERS[answer]
        if values is not None:
            assert set(allowed) <= values, answer
        if answer == "country":
            # A bare NO in YAML is the boolean false.
            assert all(isinstance(code, str) and re.fullmatch("[A-Z]{2}", code) for code in allowed)


def test_clause_keys_are_unique_and_governing_law_has_a_last_fallback() -> None:
    library = clauses()
    keys = [clause["key"] for clause in library]
    assert len(keys) == len(set(keys))
    law = [clause for clause in library if clause.get("group") == "governing_law"]
    countries = {code for clause in law for code in clause["conditions"].get("country", [])}
    assert countries == {"NO", "DK", "SE", "DE", "NL"}
    fallback = max(law, key=lambda clause: clause["order"])
    assert fallback["key"] == "governing_law_general" and fallback["conditions"] == {}
    assert sum(1 for clause in law if not clause["conditions"]) == 1
