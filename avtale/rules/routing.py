"""Who hears about a signed renegotiation (SPEC IV C4, seed 004 "Rutiner ved nedjustering").

The old and new terms are reduced to a few facts (licences before and after, how much they
went down, months since the original signature, whether prices or the start date changed);
the rules in ``routing.yaml`` match on those facts and each matching rule gives a team a task
or a notice that says what changed. The rules are data, evaluated in order: every matching
rule routes, and a rule with ``stop: true`` ends the evaluation.
"""

from __future__ import annotations

import operator
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from avtale.dates import add_months
from avtale.rules.catalogue import load_catalogue
from avtale.rules.loading import (
    ANY_PRODUCT,
    RULES_DIR,
    Entry,
    document,
    plain,
    product_matches,
    read_yaml,
)

ROUTING_FILE = RULES_DIR / "routing.yaml"
# In ``licence_products``: the products the catalogue marks ``licence: true``.
CATALOGUE = "catalogue"
TEAMS = ("invoicing", "customer_success", "sales_registration")
ACTIONS = ("task", "notify")
LICENCE_CHANGES = ("increase", "reduction", "none")
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "eq": operator.eq,
}
# Each fact a rule may test, and what kind of value it has.
FACTS = {
    "licences_old": "number",
    "licences_new": "number",
    "licence_change": "choice",
    "reduced_by": "number",
    "reduced_pct": "number",
    "increased_by": "number",
    "months_since_original_signature": "number",  # None when the date is not known
    "price_changed": "bool",
    "start_date_changed": "bool",
}
# What a title may name: the facts, and the day the new terms apply.
TITLE_NAMES = (*FACTS, "effective_date")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Condition:
    fact: str
    comparison: str  # one of COMPARISONS, or "in" for a list of allowed values
    value: Any

    def holds(self, facts: Mapping[str, Any]) -> bool:
        actual = facts[self.fact]
        if self.comparison == "in":
            return actual in self.value
        if self.comparison == "eq":
            return bool(actual == self.value)
        # An unknown fact (no original signature date) is neither under nor over anything.
        if actual is None:
            return False
        return COMPARISONS[self.comparison](actual, self.value)


@dataclass(frozen=True)
class RoutingRule:
    name: str
    # Any one of the groups must hold, and within a group every condition.
    when: tuple[tuple[Condition, ...], ...]
    route_to: str
    action: str
    title: str
    stop: bool = False

    def matches(self, facts: Mapping[str, Any]) -> bool:
        return any(all(condition.holds(facts) for condition in group) for group in self.when)


@dataclass(frozen=True)
class RoutingRules:
    version: int
    rules: tuple[RoutingRule, ...]
    licence_products: tuple[str, ...] = (ANY_PRODUCT,)
    source: str = ROUTING_FILE.name
    # team -> the address its notices are also mailed to (seed 004: "sendes e-post til ...")
    emails: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Facts:
    """What the rules look at, computed from the old and new terms."""

    licences_old: Decimal
    licences_new: Decimal
    licence_change: str
    reduced_by: Decimal
    reduced_pct: Decimal
    increased_by: Decimal
    months_since_original_signature: int | None
    price_changed: bool
    start_date_changed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Route:
    """One matching rule: the team, whether it gets a task or a notice, and what changed.

    ``changes`` holds only what changed, each as ``[old, new]`` in JSON-friendly values:
    ``licences`` (numbers as text), ``start_date`` (ISO dates), ``price`` (the lines whose
    unit price or discount changed, as ``{product, unit_price, discount_percent}``) and
    ``lines`` (the recurring lines taken away, and those added, in the same form).
    """

    rule: str
    team: str
    action: str
    title: str
    changes: dict[str, list[Any]] = field(default_factory=dict)
    rules_version: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def with_catalogue(rules: RoutingRules, licences: Iterable[tuple[str, str]]) -> RoutingRules:
    """``rules`` with ``catalogue`` in ``licence_products`` replaced by the code and the name
    of each product the catalogue marks ``licence: true`` (``licences``: code, name), so a
    contract line counts as licences whether it carries the code or only the name."""
    if CATALOGUE not in rules.licence_products:
        return rules
    named = tuple(text for code, name in licences for text in (code, name))
    others = tuple(pattern for pattern in rules.licence_products if pattern != CATALOGUE)
    return replace(rules, licence_products=others + named)


def _licences_named(rules: RoutingRules) -> RoutingRules:
    """``rules`` with ``catalogue`` resolved by ``catalogue.yaml`` where the caller did not
    resolve it by the database's catalogue (``with_catalogue``)."""
    if CATALOGUE not in rules.licence_products:
        return rules
    return with_catalogue(rules, ((p.code, p.name) for p in load_catalogue() if p.licence))


def load_routing_rules(path: Path | str | None = None) -> RoutingRules:
    """The routing rules in ``path`` (default: the ``routing.yaml`` beside this module)."""
    source, data = read_yaml(path or ROUTING_FILE)
    return parse_routing_rules(data, source=source)


def parse_routing_rules(data: Any, *, source: str = ROUTING_FILE.name) -> RoutingRules:
    version, fields = document(
        source, data, required=("rules",), optional=("licence_products", "emails")
    )
    licence_products = (
        fields["licence_products"].texts() if "licence_products" in fields else (ANY_PRODUCT,)
    )
    emails = _emails(fields["emails"]) if "emails" in fields else {}
    names: dict[str, str] = {}
    rules = []
    for entry in fields["rules"].items():
        rule = _rule(entry)
        if rule.name in names:
            entry.at("name", rule.name).fail(f"'{rule.name}' is already used by {names[rule.name]}")
        names[rule.name] = entry.path
        rules.append(rule)
    return RoutingRules(version, tuple(rules), licence_products, source, emails)


def _emails(entry: Entry) -> dict[str, str]:
    """Which team's notices also go by e-mail, and to which address."""
    addresses = {}
    for team, address in entry.fields(optional=TEAMS).items():
        text = address.text(max_length=254)
        if "@" not in text or any(c.isspace() for c in text):
            address.fail(f"'{text}' is not an e-mail address")
        addresses[team] = text
    return addresses


def _rule(entry: Entry) -> RoutingRule:
    fields = entry.fields(
        required=("name", "when", "route_to", "action", "title"), optional=("stop",)
    )
    title = fields["title"].text(max_length=200)
    for _, name, spec, conversion in string.Formatter().parse(title):
        if name is None:
            continue
        if name not in TITLE_NAMES:
            fields["title"].fail(f"unknown fact '{{{name}}}' (known: {', '.join(TITLE_NAMES)})")
        if spec or conversion:
            fields["title"].fail(f"write '{{{name}}}' without a format")
    return RoutingRule(
        name=fields["name"].text(max_length=60),
        when=_when(fields["when"]),
        route_to=fields["route_to"].choice(TEAMS),
        action=fields["action"].choice(ACTIONS),
        title=title,
        stop=fields["stop"].boolean() if "stop" in fields else False,
    )


def _when(entry: Entry) -> tuple[tuple[Condition, ...], ...]:
    # A list of condition sets is an "or" of them: YAML mappings cannot say "price or start
    # date changed" in one set.
    if isinstance(entry.value, list):
        return tuple(_conditions(item) for item in entry.items())
    return (_conditions(entry),)


def _conditions(entry: Entry) -> tuple[Condition, ...]:
    if not isinstance(entry.value, Mapping):
        entry.fail("must be a mapping of facts to values, or a list of such mappings")
    if not entry.value:
        entry.fail("needs at least one condition")
    conditions: list[Condition] = []
    for fact, value in entry.value.items():
        where = entry.at(str(fact), value)
        if fact not in FACTS:
            where.fail(f"unknown fact '{fact}' (known: {', '.join(FACTS)})")
        conditions.extend(_condition(str(fact), where))
    return tuple(conditions)


def _condition(fact: str, entry: Entry) -> list[Condition]:
    if isinstance(entry.value, Mapping):
        if not entry.value:
            entry.fail("needs a comparison (" + ", ".join(COMPARISONS) + ")")
        conditions = []
        for comparison, value in entry.value.items():
            if comparison not in COMPARISONS:
                entry.fail(
                    f"unknown comparison '{comparison}' (expected one of: {', '.join(COMPARISONS)})"
                )
            if comparison != "eq" and FACTS[fact] != "number":
                entry.fail(f"'{comparison}' compares numbers; {fact} is not a number")
            operand = entry.at(str(comparison), value)
            target = _value(fact, operand) if comparison == "eq" else operand.number()
            conditions.append(Condition(fact, str(comparison), target))
        return conditions
    if isinstance(entry.value, list):
        return [Condition(fact, "in", tuple(_value(fact, item) for item in entry.items()))]
    return [Condition(fact, "eq", _value(fact, entry))]


def _value(fact: str, entry: Entry) -> Any:
    kind = FACTS[fact]
    if kind == "bool":
        return entry.boolean()
    if kind == "choice":
        return entry.choice(LICENCE_CHANGES)
    return None if entry.value is None else entry.number()


def route(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    original_signed_date: date | None,
    signed_on: date,
    rules: RoutingRules | None = None,
    effective_date: date | None = None,
) -> list[Route]:
    """The routes for a renegotiation signed on ``signed_on``, under ``rules`` (default:
    ``routing.yaml``); empty when no rule matches, as when nothing changed. Titles may
    name ``{effective_date}``, the day the new terms apply (default: ``signed_on``).

    ``old`` and ``new`` each have ``start_date`` and ``lines`` (``product``, ``quantity``,
    ``unit_price``, ``discount_percent``, ``billing_period``, ``start_date``, optionally
    ``line_no``).
    """
    rules = _licences_named(rules or load_routing_rules())
    facts, changes = _compare(old, new, original_signed_date, signed_on, rules.licence_products)
    values = facts.as_dict()
    shown = {name: _shown(value) for name, value in values.items()}
    shown["effective_date"] = (effective_date or signed_on).isoformat()
    routes = []
    for rule in rules.rules:
        if not rule.matches(values):
            continue
        routes.append(
            Route(
                rule=rule.name,
                team=rule.route_to,
                action=rule.action,
                title=rule.title.format_map(shown),
                changes={key: list(pair) for key, pair in changes.items()},
                rules_version=rules.version,
            )
        )
        if rule.stop:
            break
    return routes


def routing_facts(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    original_signed_date: date | None,
    signed_on: date,
    rules: RoutingRules | None = None,
) -> Facts:
    """The facts ``route`` matches rules on, for showing or recording why a case was routed:
    under the same ``rules`` (default: ``routing.yaml``), so the same lines count as licences."""
    rules = _licences_named(rules or load_routing_rules())
    facts, _ = _compare(old, new, original_signed_date, signed_on, rules.licence_products)
    return facts


def whole_months(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end``: 15 March to 14 March three years on is 35, the
    15th is 36. From 31 January, 28 February is one month (``add_months`` keeps month ends)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and add_months(start, months) > end:
        months -= 1
    elif months < 0 and add_months(start, months) < end:
        months += 1
    return months


@dataclass(frozen=True)
class _Line:
    product: str
    product_code: str | None
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    recurring: bool
    start_date: date | None
    line_no: int | None


def _compare(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    original_signed_date: date | None,
    signed_on: date,
    licence_products: Sequence[str],
) -> tuple[Facts, dict[str, tuple[Any, Any]]]:
    old_start = _day(old.get("start_date"), "old.start_date")
    new_start = _day(new.get("start_date"), "new.start_date")
    old_lines, new_lines = _lines(old, "old", old_start), _lines(new, "new", new_start)
    licences_old = _licences(old_lines, licence_products)
    licences_new = _licences(new_lines, licence_products)
    reduced_by = max(licences_old - licences_new, Decimal(0))
    increased_by = max(licences_new - licences_old, Decimal(0))
    pairs = _pairs(old_lines, new_lines)
    repriced = [
        (a, b)
        for a, b in pairs
        if a.unit_price != b.unit_price or a.discount_percent != b.discount_percent
    ]
    paired_old, paired_new = {id(a) for a, _ in pairs}, {id(b) for _, b in pairs}
    # Recurring lines only: a one-off fee was billed once, and the free onboarding every
    # renegotiation adds (seed 004) bills nothing.
    removed = [line for line in old_lines if line.recurring and id(line) not in paired_old]
    added = [line for line in new_lines if line.recurring and id(line) not in paired_new]
    moved = [(a.start_date, b.start_date) for a, b in pairs if a.start_date != b.start_date]
    if old_start != new_start:
        moved.insert(0, (old_start, new_start))

    facts = Facts(
        licences_old=licences_old,
        licences_new=licences_new,
        licence_change="reduction" if reduced_by else "increase" if increased_by else "none",
        reduced_by=reduced_by,
        # Multiplied first, so 30 of 150 is exactly 20, not 19.99... from a rounded quotient.
        reduced_pct=reduced_by * HUNDRED / licences_old if licences_old else Decimal(0),
        increased_by=increased_by,
        months_since_original_signature=(
            whole_months(original_signed_date, signed_on) if original_signed_date else None
        ),
        # A recurring line added or taken away changes what is invoiced as a new price does.
        price_changed=bool(repriced or added or removed),
        start_date_changed=bool(moved),
    )
    changes: dict[str, tuple[Any, Any]] = {}
    if repriced:
        changes["price"] = ([_price(a) for a, _ in repriced], [_price(b) for _, b in repriced])
    if added or removed:
        changes["lines"] = ([_price(a) for a in removed], [_price(b) for b in added])
    if facts.licence_change != "none":
        changes["licences"] = (plain(licences_old), plain(licences_new))
    if moved:
        # The contract's own start date when it moved, else the first line that moved.
        first_old, first_new = moved[0]
        changes["start_date"] = (_iso(first_old), _iso(first_new))
    return facts, changes


def _licences(lines: Sequence[_Line], licence_products: Sequence[str]) -> Decimal:
    return sum(
        (
            line.quantity
            for line in lines
            if line.recurring
            and (
                product_matches(licence_products, line.product)
                or (line.product_code and product_matches(licence_products, line.product_code))
            )
        ),
        Decimal(0),
    )


def _pairs(old: Sequence[_Line], new: Sequence[_Line]) -> list[tuple[_Line, _Line]]:
    """Lines present in both: by ``line_no`` when every line has one (the repository's
    numbering, which follows a line through revisions), else the n-th line of a product in
    the old terms with the n-th line of that product in the new ones."""
    if all(line.line_no is not None for line in (*old, *new)):
        by_number = {line.line_no: line for line in old}
        return [(by_number[line.line_no], line) for line in new if line.line_no in by_number]
    return [
        (a, b)
        for product in dict.fromkeys(line.product.casefold() for line in old)
        for a, b in zip(
            [line for line in old if line.product.casefold() == product],
            [line for line in new if line.product.casefold() == product],
            strict=False,
        )
    ]


def _lines(terms: Mapping[str, Any], which: str, default_start: date | None) -> list[_Line]:
    lines = terms.get("lines") or []
    result = []
    for index, line in enumerate(lines):
        where = f"{which}.lines[{index}]"
        product = line.get("product")
        if not isinstance(product, str) or not product.strip():
            raise ValueError(f"{where}.product: is required")
        period = line.get("billing_period")
        if not isinstance(period, str) or not period:
            raise ValueError(f"{where}.billing_period: is required")
        line_no = line.get("line_no")
        result.append(
            _Line(
                product=product.strip(),
                product_code=str(line.get("product_code") or "").strip() or None,
                quantity=_decimal(line.get("quantity"), f"{where}.quantity"),
                unit_price=_decimal(line.get("unit_price") or 0, f"{where}.unit_price"),
                discount_percent=_decimal(
                    line.get("discount_percent") or 0, f"{where}.discount_percent"
                ),
                recurring=period != "one_off",
                start_date=_day(line.get("start_date"), f"{where}.start_date") or default_start,
                line_no=int(line_no) if line_no is not None else None,
            )
        )
    return result


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{where}: must be a number")
    try:
        parsed = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{where}: must be a number") from None
    if not parsed.is_finite():
        raise ValueError(f"{where}: must be a number")
    return parsed


def _day(value: Any, where: str) -> date | None:
    # Proposals keep their terms as JSON, so dates may arrive as ISO text.
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{where}: must be a date (YYYY-MM-DD)")


def _price(line: _Line) -> dict[str, str]:
    return {
        "product": line.product,
        "unit_price": plain(line.unit_price),
        "discount_percent": plain(line.discount_percent),
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _shown(value: Any) -> str:
    """A fact as a task title shows it: 33.3 rather than 33.33333333333333333333333333."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return plain(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    return str(value)
