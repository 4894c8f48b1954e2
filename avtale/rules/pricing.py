"""Discounts and bonuses applied automatically to a proposal's lines, and when a discount
needs approval (SPEC IV C3, seed 001: "standaard rekenregels voor kortingen en bonussen").

The rules are data in ``discounts.yaml``: volume tiers per product, a bonus for a long term,
a cap on what is given automatically, and the approval threshold. Every decision carries the
file's ``version`` so the app can record which rules priced a proposal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from avtale.rules.loading import (
    ANY_PRODUCT,
    RULES_DIR,
    Entry,
    document,
    plain,
    product_matches,
    read_yaml,
)

DISCOUNTS_FILE = RULES_DIR / "discounts.yaml"
# Which lines a volume tier counts: licences are recurring; a tier on one-off lines (ten
# training days) has to say so, or a setup fee would get a volume discount by accident.
APPLIES_TO = ("recurring", "one_off", "all")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Tier:
    min_quantity: Decimal
    percent: Decimal


@dataclass(frozen=True)
class VolumeTiers:
    """The tiers of one product (or ``"*"``), lowest quantity first."""

    product: str
    applies_to: str
    tiers: tuple[Tier, ...]


@dataclass(frozen=True)
class TermBonus:
    min_term_months: int
    percent: Decimal


@dataclass(frozen=True)
class ApprovalRules:
    threshold_percent: Decimal
    any_discount_on_one_off: tuple[str, ...] = ()
    exempt_products: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiscountRules:
    version: int
    max_automatic_percent: Decimal
    volume_tiers: tuple[VolumeTiers, ...]
    term_bonus: tuple[TermBonus, ...]
    approval: ApprovalRules
    source: str = DISCOUNTS_FILE.name


@dataclass(frozen=True)
class PricedLine:
    """One line as priced: the automatic discount the rules give, the manual one the user
    typed, and the one applied (the higher), with the reasons in words.

    A line that continues a signed contract line (``agreed``) keeps the discount it has: the
    rules' answer for its new quantity is only ``proposed_percent``, for the user to accept,
    so a changed quantity never re-prices it behind anyone's back (seed 004)."""

    number: int  # 1-based, as the user sees the lines
    product: str
    label: str
    quantity: Decimal
    unit_price: Decimal
    billing_period: str
    automatic_percent: Decimal
    manual_percent: Decimal
    discount_percent: Decimal
    list_amount: Decimal  # quantity x unit price, per billing period
    amount: Decimal  # after the applied discount, unrounded (SPEC IX: round when presenting)
    reasons: list[str] = field(default_factory=list)
    needs_approval: bool = False
    proposed_percent: Decimal | None = None  # agreed lines only, when the rules differ


@dataclass(frozen=True)
class Pricing:
    lines: list[PricedLine]
    needs_approval: bool
    approval_reasons: list[str]
    rules_version: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly (Decimals as text), for keeping the decision on the proposal."""
        return _jsonable(asdict(self))


def load_discount_rules(path: Path | str | None = None) -> DiscountRules:
    """The discount rules in ``path`` (default: the ``discounts.yaml`` beside this module)."""
    source, data = read_yaml(path or DISCOUNTS_FILE)
    return parse_discount_rules(data, source=source)


def parse_discount_rules(data: Any, *, source: str = DISCOUNTS_FILE.name) -> DiscountRules:
    version, fields = document(
        source,
        data,
        required=("max_automatic_percent", "approval"),
        optional=("volume_tiers", "term_bonus"),
    )
    tiers = _volume_tiers(fields["volume_tiers"]) if "volume_tiers" in fields else ()
    bonus = _term_bonus(fields["term_bonus"]) if "term_bonus" in fields else ()
    return DiscountRules(
        version=version,
        max_automatic_percent=fields["max_automatic_percent"].number(minimum=0, maximum=100),
        volume_tiers=tiers,
        term_bonus=bonus,
        approval=_approval(fields["approval"]),
        source=source,
    )


def _volume_tiers(entry: Entry) -> tuple[VolumeTiers, ...]:
    seen: dict[str, str] = {}
    result = []
    for item in entry.items(allow_empty=True):
        fields = item.fields(required=("product", "tiers"), optional=("applies_to",))
        product = fields["product"].text(max_length=200)
        if product.casefold() in seen:
            fields["product"].fail(f"'{product}' already has tiers at {seen[product.casefold()]}")
        seen[product.casefold()] = item.path
        applies_to = fields["applies_to"].choice(APPLIES_TO) if "applies_to" in fields else None
        tiers: list[Tier] = []
        for tier_entry in fields["tiers"].items():
            tier_fields = tier_entry.fields(required=("min_quantity", "percent"))
            minimum = tier_fields["min_quantity"].number(minimum=0)
            if any(tier.min_quantity == minimum for tier in tiers):
                tier_fields["min_quantity"].fail(f"{plain(minimum)} is given twice")
            tiers.append(Tier(minimum, tier_fields["percent"].number(minimum=0, maximum=100)))
        result.append(
            VolumeTiers(
                product,
                applies_to or "recurring",
                tuple(sorted(tiers, key=lambda tier: tier.min_quantity)),
            )
        )
    return tuple(result)


def _term_bonus(entry: Entry) -> tuple[TermBonus, ...]:
    bonuses: list[TermBonus] = []
    for item in entry.items(allow_empty=True):
        fields = item.fields(required=("min_term_months", "percent"))
        months = fields["min_term_months"].integer(minimum=1)
        if any(bonus.min_term_months == months for bonus in bonuses):
            fields["min_term_months"].fail(f"{months} is given twice")
        bonuses.append(TermBonus(months, fields["percent"].number(minimum=0, maximum=100)))
    return tuple(sorted(bonuses, key=lambda bonus: bonus.min_term_months))


def _approval(entry: Entry) -> ApprovalRules:
    fields = entry.fields(
        required=("threshold_percent",),
        optional=("any_discount_on_one_off", "exempt_products"),
    )
    return ApprovalRules(
        threshold_percent=fields["threshold_percent"].number(minimum=0, maximum=100),
        any_discount_on_one_off=(
            fields["any_discount_on_one_off"].texts() if "any_discount_on_one_off" in fields else ()
        ),
        exempt_products=(fields["exempt_products"].texts() if "exempt_products" in fields else ()),
    )


def price_lines(
    lines: Sequence[Mapping[str, Any]],
    *,
    term_months: int | None,
    rules: DiscountRules | None = None,
) -> Pricing:
    """The discounts of ``lines`` under ``rules`` (default: ``discounts.yaml``).

    A line has ``product`` (code), ``quantity``, ``unit_price``, ``discount_percent`` (typed
    by the user; may be None) and ``billing_period``; ``description`` or ``name``, when given,
    names it in messages; ``agreed`` true for a line continuing a signed contract line.
    Malformed lines raise ValueError naming ``lines[i].<field>``.
    """
    rules = rules or load_discount_rules()
    priced: list[PricedLine] = []
    reasons: list[str] = []
    for index, line in enumerate(lines):
        result = _price_line(index, line, term_months, rules)
        line_reasons = _approval_reasons(result, rules.approval)
        priced.append(replace(result, needs_approval=bool(line_reasons)))
        reasons.extend(line_reasons)
    return Pricing(
        lines=priced,
        needs_approval=bool(reasons),
        approval_reasons=reasons,
        rules_version=rules.version,
    )


def _price_line(
    index: int, line: Mapping[str, Any], term_months: int | None, rules: DiscountRules
) -> PricedLine:
    where = f"lines[{index}]"
    product = line.get("product")
    if not isinstance(product, str) or not product.strip():
        raise ValueError(f"{where}.product: is required")
    period = line.get("billing_period")
    if not isinstance(period, str) or not period:
        raise ValueError(f"{where}.billing_period: is required")
    quantity = _decimal(line.get("quantity"), f"{where}.quantity")
    unit_price = _decimal(line.get("unit_price"), f"{where}.unit_price")
    manual = _decimal(line.get("discount_percent") or 0, f"{where}.discount_percent")
    if not 0 <= manual <= HUNDRED:
        raise ValueError(f"{where}.discount_percent: must be between 0 and 100")

    recurring = period != "one_off"
    reasons: list[str] = []
    automatic = Decimal(0)
    tier = _tier(rules.volume_tiers, product, quantity, recurring)
    if tier is not None:
        automatic += tier.percent
        reasons.append(
            f"{_pct(tier.percent)} volume discount for {plain(tier.min_quantity)} or more"
        )
    bonus = _bonus(rules.term_bonus, term_months) if recurring else None
    if bonus is not None:
        automatic += bonus.percent
        reasons.append(
            f"+{_pct(bonus.percent)} term bonus for {bonus.min_term_months} months or more"
        )
    if automatic > rules.max_automatic_percent:
        reasons.append(f"automatic {_pct(automatic)} capped at {_pct(rules.max_automatic_percent)}")
        automatic = rules.max_automatic_percent
    proposed = None
    if line.get("agreed"):
        applied = manual
        why = "; ".join(reasons) or "no volume discount at this quantity"
        reasons = [f"agreed {_pct(manual)} kept"]
        if automatic != manual:
            proposed = automatic
            reasons.append(f"the rules now give {_pct(automatic)} ({why}): accept to change")
    else:
        applied = max(automatic, manual)
        if manual > automatic:
            reasons.append(f"manual {_pct(manual)} is higher than the automatic {_pct(automatic)}")

    list_amount = quantity * unit_price
    label = str(line.get("description") or line.get("name") or product).strip()
    return PricedLine(
        number=index + 1,
        product=product.strip(),
        label=label,
        quantity=quantity,
        unit_price=unit_price,
        billing_period=period,
        automatic_percent=automatic,
        manual_percent=manual,
        discount_percent=applied,
        list_amount=list_amount,
        amount=list_amount * (1 - applied / HUNDRED),
        reasons=reasons,
        proposed_percent=proposed,
    )


def _tier(
    all_tiers: Sequence[VolumeTiers], product: str, quantity: Decimal, recurring: bool
) -> Tier | None:
    """The highest tier reached, from the product's own tiers, else from the ``"*"`` ones."""
    own = [entry for entry in all_tiers if entry.product != ANY_PRODUCT]
    matching = next((entry for entry in own if product_matches([entry.product], product)), None)
    if matching is None:
        matching = next((entry for entry in all_tiers if entry.product == ANY_PRODUCT), None)
    if matching is None or not _applies(matching.applies_to, recurring):
        return None
    reached = [tier for tier in matching.tiers if quantity >= tier.min_quantity]
    return reached[-1] if reached else None


def _applies(applies_to: str, recurring: bool) -> bool:
    return applies_to == "all" or (applies_to == "recurring") == recurring


def _bonus(bonuses: Sequence[TermBonus], term_months: int | None) -> TermBonus | None:
    if term_months is None:
        return None
    reached = [bonus for bonus in bonuses if term_months >= bonus.min_term_months]
    return reached[-1] if reached else None


def _approval_reasons(line: PricedLine, approval: ApprovalRules) -> list[str]:
    if product_matches(approval.exempt_products, line.product) or not line.discount_percent:
        return []
    name = f"line {line.number} ({line.label})"
    reasons = []
    # Above, not at: a discount of exactly the threshold is what may be given without asking.
    if line.discount_percent > approval.threshold_percent:
        reasons.append(
            f"{name}: {_pct(line.discount_percent)} is above the "
            f"{_pct(approval.threshold_percent)} that needs approval"
        )
    if line.billing_period == "one_off" and product_matches(
        approval.any_discount_on_one_off, line.product
    ):
        reasons.append(
            f"{name}: any discount on this one-off fee needs approval "
            f"({_pct(line.discount_percent)} given)"
        )
    return reasons


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{where}: must be a number")
    try:
        parsed = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError(f"{where}: must be a number") from None
    if not parsed.is_finite():
        raise ValueError(f"{where}: must be a number")
    return parsed


def _pct(value: Decimal) -> str:
    return f"{plain(value)} %"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, Mapping):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value
