"""Layout pieces the pages share: submit buttons, errors beside their fields, prefilled
forms, pickers that follow the URL, and how values are shown.

A form's widgets use the keys ``<form>_<field>``. A submit stores the service's ``Outcome``
under ``<form>__outcome`` and reruns, so the next run draws each error under its widget
and the success message under the form.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import pandas as pd
import streamlit as st

from avtale.services.documents import max_upload_bytes
from avtale.services.unit_of_work import FORM, Outcome
from avtale.settings import paths
from avtale.vocabulary import APP_BILLING_PERIODS, FIELD_LABELS, field_label
from avtale.worker import request_refresh
from common import fmt

if TYPE_CHECKING:
    from streamlit.elements.lib.column_config_utils import ColumnConfigMappingInput

# What st.dataframe and st.data_editor take as column_config, by Streamlit's own name.
ColumnConfigs: TypeAlias = "ColumnConfigMappingInput"

FLASH = "flash"

LABELS = FIELD_LABELS


MARKUP = re.compile(r"([\\`*_\[\]<>~|$])")


def md(text: object) -> str:
    """Text typed by users, safe inside Streamlit markdown: a name with * or _ stays as
    typed, and $ does not start a formula."""
    return MARKUP.sub(r"\\\1", str(text))


def label(field: str) -> str:
    """A field's name as a reader says it: "unit_price" -> "Unit price"."""
    return field_label(field)


def change_label(field: str) -> str:
    """A field of ``compare_versions`` as a reader names it: "line 1.unit_price" ->
    "Line 1 · Unit price", "custom_terms.sla_level" -> "Custom term sla_level"."""
    if field.startswith("custom_terms."):
        return "Custom term " + field.removeprefix("custom_terms.")
    if field.startswith("line "):
        line, _, column = field.partition(".")
        return line.capitalize() + (f" · {label(column)}" if column else "")
    return label(field)


def key(form: str, field: str) -> str:
    return f"{form}_{field}"


# --- outcomes -----------------------------------------------------------------------


def outcome(form: str) -> Outcome | None:
    """The last submit's outcome, until ``result`` shows it."""
    return st.session_state.get(f"{form}__outcome")


def _shown(form: str) -> set[str]:
    return st.session_state.setdefault(f"{form}__shown", set())


def mark_shown(form: str, *fields: str) -> None:
    """The page showed these fields' messages its own way: ``result`` leaves them out."""
    _shown(form).update(fields)


def field_error(form: str, *fields: str) -> None:
    """The last submit's message for these fields, under the widget drawn just before."""
    made = outcome(form)
    for field in fields:
        _shown(form).add(field)
        if made and field in made.errors:
            st.error(f"{label(field)}: {md(made.errors[field])}", icon=":material/error:")


def row_errors(form: str, table: str) -> None:
    """Messages for cells of an edited table (``lines[0].unit_price`` -> Row 1, Unit price)."""
    made = outcome(form)
    _shown(form).add(table + "[")
    if not made:
        return
    for name, message in made.errors.items():
        if name.startswith(table + "["):
            index, _, column = name[len(table) + 1 :].partition("].")
            st.error(
                f"Row {int(index) + 1}, {label(column)}: {md(message)}", icon=":material/error:"
            )


def pending(form: str) -> bool:
    """Whether the form has an outcome to show: open its expander so the user sees it."""
    return f"{form}__outcome" in st.session_state


def result(form: str) -> None:
    """The success message, or errors no field showed; then forget the outcome."""
    made = st.session_state.pop(f"{form}__outcome", None)
    shown = st.session_state.pop(f"{form}__shown", set())
    if made is None:
        return
    if made.ok:
        st.success(md(made.message), icon=":material/check_circle:")
        return
    for field, message in made.errors.items():
        if field in shown or any(field.startswith(p) for p in shown if p.endswith("[")):
            continue
        text = message if field == FORM else f"{label(field)}: {message}"
        st.error(md(text[:1].upper() + text[1:]), icon=":material/error:")


PREFILL_STATE = ("__for", "__before", "__tables")


def clear(form: str) -> None:
    """Forget the form's input, so it starts empty (or prefilled afresh) next run; the
    outcome stays to be shown."""
    for name in list(st.session_state):
        if not isinstance(name, str) or not name.startswith(form + "_"):
            continue
        rest = name[len(form) :]
        widget = not rest.startswith("__") and name != submit_key(form)
        if widget or rest in PREFILL_STATE:
            del st.session_state[name]


def submit_key(form: str) -> str:
    return f"{form}_submit"


def submit(
    form: str,
    text: str,
    action: Callable[[], Outcome],
    *,
    then: Callable[[Outcome], None] | None = None,
) -> None:
    """The form's one submit button. On a click: run ``action``, then rerun to show the
    outcome. On success the form is cleared; ``then``, if given, takes over showing it
    (e.g. flash the message and open what was made, or the form is about to vanish)."""
    if st.form_submit_button(text, key=submit_key(form), type="primary"):
        _handle(form, action(), then)


def action_button(
    form: str,
    text: str,
    action: Callable[[], Outcome],
    *,
    then: Callable[[Outcome], None] | None = None,
) -> None:
    """A one-click action (archive, restore) with the same outcome handling as a form."""
    if st.button(text, key=submit_key(form)):
        _handle(form, action(), then)
    result(form)


def _handle(form: str, made: Outcome, then: Callable[[Outcome], None] | None) -> None:
    if made.ok:
        # The dashboards follow within seconds when the folder's warm worker runs (`make
        # dev`); asked without waiting, so the form never waits on a refresh. With no
        # worker, Dagster's sensor on app writes starts the refresh instead.
        request_refresh(paths())
        clear(form)
        if then is not None:
            then(made)
            st.rerun()
    st.session_state[f"{form}__outcome"] = made
    st.rerun()


def flashed(made: Outcome) -> None:
    """``then`` for actions that change what the page shows: the message goes on top."""
    flash(made.message)


def open_written(page: str, param: str, **params: str) -> Callable[[Outcome], None]:
    """``then`` for a form that writes a record to open next: the message goes on top of
    ``page``, opened at ``?<param>=<the record's number>`` (and ``params``)."""

    def then(made: Outcome) -> None:
        flash(made.message)
        st.switch_page(page, query_params={param: made.target or "", **params})

    return then


def flash(message: str) -> None:
    """A success message for the next page shown (after ``st.switch_page``)."""
    st.session_state[FLASH] = message


def show_flash() -> None:
    if message := st.session_state.pop(FLASH, None):
        st.success(md(message), icon=":material/check_circle:")


def prefill(
    form: str,
    stamp: Any,
    values: Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> None:
    """Put ``values`` into the form's widgets when it is first shown for ``stamp`` (a
    record and its version), keeping what the user typed while the stamp stays the same.

    ``tables`` are the starting data of the form's data editors; they are kept with the
    form, because an editor's edits only make sense against the table they were made on.
    """
    # Streamlit drops a widget's value when a run does not draw it (another page was
    # open): then the form is prefilled again rather than shown empty.
    held = all(key(form, field) in st.session_state for field in values)
    if st.session_state.get(f"{form}__for") == stamp and held:
        return
    if st.session_state.get(submit_key(form)):
        # The record changed while this form was being filled in: submit what the user
        # saw (the service refuses a stale revision) rather than overwrite their input.
        return
    clear(form)
    for field, value in values.items():
        st.session_state[key(form, field)] = value
    st.session_state[f"{form}__for"] = stamp
    st.session_state[f"{form}__before"] = dict(values)
    st.session_state[f"{form}__tables"] = dict(tables or {})


def prefilled(form: str) -> dict[str, Any]:
    """The values the form was prefilled with, to tell what the user changed."""
    return st.session_state.get(f"{form}__before", {})


def stamp(form: str) -> Any:
    """The stamp the form was prefilled for: what the user saw when they made their edits."""
    return st.session_state.get(f"{form}__for")


def reset_when(stamp: Any, *keys: str) -> None:
    """Forget these widgets' values when ``stamp`` changes (e.g. a new version appeared),
    so their defaults apply again."""
    marker = f"{keys[0]}__for"
    if st.session_state.get(marker) != stamp:
        for name in keys:
            st.session_state.pop(name, None)
        st.session_state[marker] = stamp


def table(form: str, name: str) -> pd.DataFrame:
    return st.session_state[f"{form}__tables"][name]


# --- pickers ------------------------------------------------------------------------


def url_picker(text: str, options: Mapping[str, str], param: str, widget_key: str) -> str | None:
    """A selectbox of ``options`` (value -> label) that follows ``?param=`` in the URL, so
    links and bookmarks open the right record and a pick updates the address."""
    wanted = st.query_params.get(param)
    if wanted in options and st.session_state.get(widget_key) != wanted:
        st.session_state[widget_key] = wanted
    elif st.session_state.get(widget_key) not in options:
        st.session_state.pop(widget_key, None)

    def follow() -> None:
        picked = st.session_state.get(widget_key)
        if picked:
            st.query_params[param] = picked
        else:
            st.query_params.pop(param, None)

    # The widget returns the label picked: two records of one name (a customer in HubSpot
    # and in accounting) must not share one, or a click on the page opens the other.
    counts = Counter(options.values())
    labels = {
        value: label if counts[label] == 1 else f"{label} · {record_id(value)}"
        for value, label in options.items()
    }
    return st.selectbox(
        text,
        list(options),
        index=None,
        format_func=named(labels),
        key=widget_key,
        on_change=follow,
        placeholder="Choose or type to search",
    )


def named(names: Mapping[Any, str]) -> Callable[[Any], str]:
    """``format_func`` for a widget whose options are the keys of ``names``: each option
    shown by its name (one without a name by itself)."""
    return lambda option: names.get(option, str(option))


def open_selected(event: Any, frame: pd.DataFrame, page: str, param: str, column: str) -> None:
    """Open the page of the table row the user clicked."""
    picked = getattr(getattr(event, "selection", None), "rows", None)
    if picked:
        st.switch_page(page, query_params={param: frame.iloc[picked[0]][column]})


def upload_limit_mb() -> int:
    """The upload limit for ``st.file_uploader`` (whole MB): the browser then refuses a
    file that is too large before sending it; the repository still checks exactly."""
    return max(1, math.ceil(max_upload_bytes() / 1024 / 1024))


def upload_limit_text() -> str:
    return f"up to {max_upload_bytes() / 1024 / 1024:g} MB"


# --- showing values -----------------------------------------------------------------


def shown(value: Any) -> str:
    if value is None or value == "" or value == {}:
        return "–"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return fmt.moment(value)
    if isinstance(value, date):
        return fmt.day(value)
    if isinstance(value, dict):
        return "; ".join(f"{label(name)}: {shown(item)}" for name, item in value.items())
    return str(value)


SOURCE_NAMES = fmt.SOURCE_NAMES
record_id = fmt.record_id

# The billing periods by their English names (the app's words), as the English phrase book
# of documents has them: one list of names.
PERIODS = {
    period: fmt.formatter("en").labels[f"period_{period}"].replace("{n}", "N")
    for period in APP_BILLING_PERIODS
}


def period_name(billing_period: object) -> str:
    """A billing period by its name: ``one_off`` -> "One-off"; one the app does not bill
    in (a CRM export's) with its underscores as spaces."""
    if billing_period is None or billing_period == "" or pd.isna(billing_period):
        return ""
    return PERIODS.get(str(billing_period)) or str(billing_period).replace("_", " ").capitalize()


def bulk_params(params: Mapping[str, Any]) -> str:
    """What a bulk operation was given, in words: "3 %", "Undo of operation #1"."""
    said = []
    for name, value in params.items():
        if value in (None, "", [], {}):
            continue
        if name == "percent":
            said.append(fmt.current().percent(value))
        elif name == "price_list":
            said.append(f"price list {value}")
        elif name == "end_date":
            said.append(f"ending {fmt.day(value)}")
        elif name == "undo_of":
            said.append(f"Undo of operation #{value}")
        elif name == "skipped":
            count = len(value) if isinstance(value, list | tuple) else 1
            said.append(f"{count} changed contract{'s' if count != 1 else ''} left as they were")
        else:
            said.append(f"{label(name)} {value}")
    return ", ".join(said)


def facts(items: Iterable[tuple[str, Any]], columns: int = 3) -> None:
    """Label/value pairs in a grid, the way a record card reads."""
    items = list(items)
    grid = st.columns(columns)
    for index, (name, value) in enumerate(items):
        with grid[index % columns]:
            st.caption(name)
            st.markdown(md(shown(value)))


def ended(heading: str, reason: str | None, circumstances: str | None) -> None:
    """Why a customer or contract ended, as told when it was terminated (SPEC R6)."""
    told = f"{heading}: {reason}" + (f" — {circumstances}" if circumstances else "")
    st.warning(md(told), icon=":material/block:")


def dataframe(
    data: pd.DataFrame,
    *,
    column_config: ColumnConfigs | None = None,
    kinds: Mapping[str, fmt.Kind] | None = None,
    **kwargs: Any,
) -> Any:
    """``st.dataframe`` with numbers and dates in the user's locale, and the columns in
    ``kinds`` shown as named there (``fmt.table``); the cells keep their values, so the
    table sorts as numbers and dates and a clicked row gives the record's id."""
    styled, config = fmt.table(data, column_config, kinds)
    return st.dataframe(styled, column_config=config, **kwargs)


def local_times(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Timestamps as local, readable text in the user's locale (the database keeps UTC)."""
    frame = frame.copy()
    for column in columns:
        frame[column] = frame[column].map(fmt.moment)
    return frame
