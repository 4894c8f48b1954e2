"""The stepper of New agreement and its steps 1, 2 and 4 as forms: customer and template,
terms, clauses (SPEC C1-C2, D2); step 3 is line_forms, 5 and 6 finish_actions. Each form
is prefilled from the saved proposal and saves through ``avtale.services.agreements``, so
a reload continues where the user was."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from avtale.services import agreements
from avtale.services.agreements import PROPOSAL_TYPES, SITUATIONS, ProposalView
from avtale.services.database import Database
from avtale.services.unit_of_work import Outcome
from common import contract_inputs, fmt, ui
from common.form_values import records

STEPS = {
    1: "1 Customer & template",
    2: "2 Terms",
    3: "3 Line items",
    4: "4 Clauses",
    5: "5 Preview & documents",
    6: "6 Send & sign",
}
STEP_KEY = "flow_step"
SITUATION_NAMES = {
    "new_customer": "New customer",
    "existing_customer": "Existing customer",
    "competitor_switch": "Switching from a competitor",
    "renewal": "Renewal",
}
PROPOSAL_NAMES = {
    "new_agreement": "New agreement",
    "upgrade": "Upgrade",
    "downgrade": "Downgrade",
    "renegotiation": "Renegotiation",
}
LANGUAGES = {
    "nb": "Norwegian (Bokmål)",
    "da": "Danish",
    "sv": "Swedish",
    "de": "German",
    "nl": "Dutch",
    "en": "English",
}
assert set(SITUATION_NAMES) == set(SITUATIONS) and set(PROPOSAL_NAMES) == set(PROPOSAL_TYPES)


def stepper(default: int) -> int:
    """The steps as a segmented control that follows ``?step=`` in the URL."""
    wanted = st.query_params.get("step")
    step = int(wanted) if wanted in {str(n) for n in STEPS} else default
    if st.session_state.get(STEP_KEY) != step:
        st.session_state[STEP_KEY] = step

    def follow() -> None:
        if st.session_state.get(STEP_KEY):
            st.query_params["step"] = str(st.session_state[STEP_KEY])

    st.segmented_control(
        "Step", list(STEPS), format_func=ui.named(STEPS), key=STEP_KEY, on_change=follow
    )
    return step


def go_to(step: int) -> Callable[[Outcome], None]:
    """``then`` of a step's form: show the message and open the next step."""

    def then(outcome: Outcome) -> None:
        ui.flash(outcome.message)
        st.query_params["step"] = str(step)

    return then


def _date(form: str, field: str, text: str, help: str | None = None) -> date | None:
    value = st.date_input(
        text, value=None, key=ui.key(form, field), format=fmt.date_input_format(), help=help
    )
    ui.field_error(form, field)
    return value  # type: ignore[return-value]


# --- 1 customer and template --------------------------------------------------------


def setup(
    db: Database, actor: str, view: ProposalView, templates: pd.DataFrame, lists: list[str]
) -> None:
    form, head = "flow_setup", view.header
    number = head["number"]
    values = {
        "situation": view.answers.get("situation"),
        "proposal": view.answers.get("proposal"),
        "language": head["language"],
        "template_key": head["template_key"],
        "price_list": head["price_list"],
    }
    ui.prefill(form, (number, head["revision"]), values)
    usable = templates[templates.purpose.isin(["agreement", "renegotiation"])]
    names = dict(zip(usable.key, usable.name + " (" + usable.key + ")", strict=True))
    names.setdefault(head["template_key"], head["template_key"])
    price_lists = lists if head["price_list"] in lists else [*lists, head["price_list"]]
    with st.form(form):
        left, right = st.columns(2)
        answers = {
            "situation": left.selectbox(
                "Customer's situation *",
                list(SITUATION_NAMES),
                format_func=ui.named(SITUATION_NAMES),
                key=ui.key(form, "situation"),
            ),
            "proposal": right.selectbox(
                "Proposal *",
                list(PROPOSAL_NAMES),
                format_func=ui.named(PROPOSAL_NAMES),
                key=ui.key(form, "proposal"),
            ),
        }
        ui.field_error(form, "situation", "proposal")
        chosen = {
            "language": left.selectbox(
                "Document language *",
                list(LANGUAGES),
                format_func=ui.named(LANGUAGES),
                key=ui.key(form, "language"),
            ),
            "template_key": right.selectbox(
                "Template *",
                list(names),
                format_func=ui.named(names),
                key=ui.key(form, "template_key"),
            ),
            "price_list": left.selectbox(
                "Price list *", price_lists, key=ui.key(form, "price_list")
            ),
        }
        ui.field_error(form, "language", "template_key", "price_list", "proposal")
        ui.submit(
            form,
            "Save and continue",
            lambda: agreements.save_setup(db, actor, number, answers, chosen),
            then=go_to(2),
        )
    ui.result(form)


# --- 2 terms ------------------------------------------------------------------------


def terms(db: Database, actor: str, view: ProposalView, edit_all: bool) -> None:
    form, head = "flow_terms", view.header
    number = head["number"]
    renegotiation = head["kind"] == "renegotiation"
    values: dict[str, Any] = {
        name: head[name] for name in ("deal_type", "signing_deadline", "expected_close")
    }
    if renegotiation:
        values["effective_date"] = head["effective_date"]
    tables = None
    if edit_all:
        values |= contract_inputs.prefill_values(view.terms)
        tables = {"custom_terms": contract_inputs.custom_frame(view.terms.get("custom_terms"))}
    ui.prefill(form, (number, head["revision"], edit_all), values, tables)
    with st.form(form):
        left, middle, right = st.columns(3)
        with left:
            setup: dict[str, Any] = {
                "deal_type": st.text_input("Deal type", key=ui.key(form, "deal_type"))
            }
            ui.field_error(form, "deal_type")
        with middle:
            setup["signing_deadline"] = _date(form, "signing_deadline", "Signing deadline")
            if renegotiation:
                setup["effective_date"] = _date(
                    form, "effective_date", "Effective from", "The new version applies from"
                )
        with right:
            setup["expected_close"] = _date(form, "expected_close", "Expected close")
        new_terms = custom = None
        if edit_all:
            new_terms = contract_inputs.terms(form)
            custom = contract_inputs.custom_terms(form)
        else:
            st.caption(
                f"The terms are those of {head['contract']}; switch on **Edit all terms** "
                "to change them. Prices and licences change under Line items."
            )
            t = view.terms
            ui.facts(
                [
                    ("Start", t.get("start_date")),
                    ("Term (months)", t.get("term_months")),
                    ("End", t.get("end_date")),
                    ("Notice (months)", t.get("notice_months")),
                    ("Renews automatically", t.get("auto_renew")),
                    ("Currency", t.get("currency")),
                ]
            )
        ui.field_error(form, "terms", "proposal")
        before = ui.prefilled(form)
        ui.submit(
            form,
            "Save and continue",
            lambda: agreements.save_terms(
                db, actor, number, setup, new_terms, before, records(custom)
            ),
            then=go_to(3),
        )
    ui.result(form)


# --- 4 clauses ----------------------------------------------------------------------


def clauses(db: Database, actor: str, view: ProposalView) -> None:
    form, head = "flow_clauses", view.header
    number = head["number"]
    library = view.library
    proposed = [key for key in view.proposed if key in library]
    others = [key for key in library if key not in proposed]
    values: dict[str, Any] = {f"clause_{key}": key in view.chosen for key in proposed}
    values |= {
        "added": [key for key in view.chosen if key in others],
        "free_text": head["free_text"] or "",
    }
    ui.prefill(form, (number, head["revision"]), values)
    with st.form(form):
        st.markdown("**Proposed for this agreement**, in the order they appear")
        if not proposed:
            st.caption("The rules propose no clauses for these answers.")
        ticked = {
            key: st.checkbox(
                ui.md(library[key]["title"]),
                key=ui.key(form, f"clause_{key}"),
                help=library[key]["body"][:300],
            )
            for key in proposed
        }
        added = st.multiselect(
            "Add from the library",
            others,
            format_func=lambda key: f"{library[key]['title']} ({key})",
            key=ui.key(form, "added"),
            # Clauses of a group exclude each other (one governing law): never all at once.
            select_all=False,
            help="Clauses of one group, such as governing law, exclude each other.",
        )
        free_text = st.text_area(
            "Free text", key=ui.key(form, "free_text"), help="Printed after the clauses"
        )
        ui.field_error(form, "clauses", "free_text", "proposal")
        keys = [key for key in library if ticked.get(key) or key in added]
        ui.submit(
            form,
            "Save and continue",
            lambda: agreements.save_clauses(db, actor, number, keys, free_text),
            then=go_to(5),
        )
    ui.result(form)
