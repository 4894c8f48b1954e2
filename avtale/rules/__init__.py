"""Business rules as data: discounts and approval (``discounts.yaml``), routing after signing
(``routing.yaml``) and the product catalogue (``catalogue.yaml``), SPEC IV C3-C4.

Pure Python: no database, app or orchestration imports, so the rules are tested directly and
the app only wires them up. Each rule file carries a ``version`` that is returned with every
decision; a file that does not validate raises ``RuleError`` naming the file and the entry.
"""

from __future__ import annotations

from avtale.rules.catalogue import Product, load_catalogue, parse_catalogue
from avtale.rules.loading import RuleError
from avtale.rules.pricing import (
    DiscountRules,
    PricedLine,
    Pricing,
    load_discount_rules,
    parse_discount_rules,
    price_lines,
)
from avtale.rules.routing import (
    Facts,
    Route,
    RoutingRules,
    load_routing_rules,
    parse_routing_rules,
    route,
    routing_facts,
)

__all__ = [
    "DiscountRules",
    "Facts",
    "PricedLine",
    "Pricing",
    "Product",
    "Route",
    "RoutingRules",
    "RuleError",
    "load_catalogue",
    "load_discount_rules",
    "load_routing_rules",
    "parse_catalogue",
    "parse_discount_rules",
    "parse_routing_rules",
    "price_lines",
    "route",
    "routing_facts",
]
