"""New agreement: the guided flow from customer to signature (SPEC C1-C4, D3-D4).

A proposal is saved at every step and its number stays in the URL (``?proposal=``), with
the step (``?step=``): a reload, a bookmark or a colleague's link continue where it was.
Renegotiations started on a contract page open here too.
"""

from __future__ import annotations

import streamlit as st

from admin import template_reads
from agreements import agreement_reads, finish_actions, line_forms, step_forms
from avtale.services import agreements
from avtale.services.unit_of_work import Outcome
from common import access, database, fmt, links, ui
from operations import customer_reads

STATUS = {"draft": "Draft", "sent": "Sent for signature", "signed": "Signed"}
APPROVAL = {
    "not_needed": "Not needed",
    "needed": "Needed",
    "pending": "Pending",
    "approved": "Approved",
    "rejected": "Rejected",
}

user = access.user()
url, version = database.current()
db = database.database()


def open_proposal(outcome: Outcome) -> None:
    ui.flash(outcome.message)
    st.query_params.from_dict({"proposal": outcome.target or "", "step": "1"})


st.title("New agreement")
number = st.query_params.get("proposal")
if not number:
    form = "flow_start"
    customer = ui.url_picker(
        "Customer *",
        customer_reads.customer_choices(url, version, active_only=True),
        "customer",
        ui.key(form, "customer"),
    )
    ui.field_error(form, "customer")
    templates = template_reads.template_list(url, version)
    usable = templates[templates.purpose == "agreement"].drop_duplicates("key")
    names = dict(zip(usable.key, usable.name, strict=True)) or {"agreement": "agreement"}
    with st.form(form):
        template = st.selectbox(
            "Template *", list(names), format_func=ui.named(names), key=ui.key(form, "template")
        )
        ui.field_error(form, "template", "template_key")
        ui.submit(
            form,
            "Start proposal",
            lambda: agreements.start_proposal(db, user.username, customer, template),
            then=open_proposal,
        )
    ui.result(form)
    st.subheader("Open proposals")
    waiting = agreement_reads.open_proposals(url, version)
    if waiting.empty:
        st.caption("None open. Renegotiations start on a contract's page.")
        st.stop()
    picked = ui.dataframe(
        ui.local_times(waiting, "updated_at"),
        key="flow_open",
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        column_config={"updated_at": "Last saved", "created_by": "Started by"},
    )
    ui.open_selected(picked, waiting, links.NEW_AGREEMENT, "proposal", "proposal")
    st.stop()

view = agreement_reads.proposal_view(url, version, number)
if view is None:
    st.warning(f"There is no proposal {ui.md(number)}.")
    st.stop()
head = view.header
renegotiation = head["kind"] == "renegotiation"
is_open = head["status"] in ("draft", "sent")

st.header(ui.md(f"{number} · {head['customer']}"))
with st.container(horizontal=True):
    st.page_link(
        links.CUSTOMER,
        label=head["customer"],
        icon=":material/business:",
        query_params={"customer": head["customer_number"]},
    )
    if renegotiation:
        st.page_link(
            links.CONTRACT,
            label=f"Renegotiation of {head['contract']}",
            icon=":material/description:",
            query_params={"contract": head["contract"]},
        )
ui.facts(
    [
        ("Status", STATUS.get(head["status"], head["status"].capitalize())),
        ("Deal", head["deal_name"]),
        ("Deal type", head["deal_type"]),
        (
            "Effective from" if renegotiation else "Start",
            head["effective_date"] if renegotiation else view.terms.get("start_date"),
        ),
        ("Signing deadline", head["signing_deadline"]),
        ("Expected close", head["expected_close"]),
        ("MRR", fmt.money(head["mrr"], head["currency"])),
        ("Discount approval", APPROVAL[head["approval_state"]]),
        ("Template", f"{head['template_key']} · {head['language']}"),
    ],
    columns=4,
)
ui.reset_when(number, "flow_edit_all")
edit_all = renegotiation and st.toggle(
    "Edit all terms",
    key="flow_edit_all",
    help="A renegotiation changes prices and licences; switch on to change any term.",
)
step = step_forms.stepper(6 if head["status"] in ("sent", "signed", "cancelled") else 1)

if step <= 4 and not is_open:
    st.info(f"{number} is {head['status']}; its content can no longer change.")
elif step == 1:
    step_forms.setup(
        db,
        user.username,
        view,
        template_reads.template_list(url, version),
        agreement_reads.price_lists(url, version),
    )
elif step == 2:
    step_forms.terms(db, user.username, view, edit_all or not renegotiation)
elif step == 3:
    catalogue = agreement_reads.catalogue(url, version)
    line_forms.step(db, user.username, view, catalogue, edit_all)
elif step == 4:
    step_forms.clauses(db, user.username, view)
elif step == 5:
    finish_actions.documents(db, user.username, view)
else:
    finish_actions.send_and_sign(db, user.username, view)
