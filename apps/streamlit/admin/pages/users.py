"""Users (admin only): who can log in, with which role; add, deactivate, reset a password,
unlock after failed logins (SPEC X2). Users are never deleted, so the audit log always names
someone real."""

from __future__ import annotations

import streamlit as st

from admin import user_reads
from avtale.services import users
from avtale.services.users import LOCK_AFTER, MIN_PASSWORD_LENGTH, ROLES, USER_LOCALES
from common import access, database, fmt, ui

user = access.user()
url, version = database.current()
db = database.database()
ROLE_NAMES = access.ROLE_NAMES

st.title("Users")
everyone = user_reads.user_list(url, version)
ui.dataframe(
    ui.local_times(
        everyone.assign(
            role=everyone.role.map(ROLE_NAMES), locale=everyone.locale.map(fmt.LOCALE_NAMES)
        ),
        "created_at",
    ),
    key="users_table",
    hide_index=True,
    column_config={
        "username": "Username",
        "role": "Role",
        "active": st.column_config.CheckboxColumn("Active"),
        "email": "E-mail",
        "manager": "Manager",
        "crm_owner": "CRM owner",
        "locale": "Locale",
        "created_at": "Created",
    },
)
st.caption(
    "Leadership and analysts read; sales ops also edit customers and contracts; "
    "admins also manage users."
)
names = everyone.username.tolist()

add_col, manage_col = st.columns(2)
with add_col, st.form("add_user"):
    st.markdown("**Add user**")
    username = st.text_input("Username *", key="add_user_username")
    ui.field_error("add_user", "username")
    password = st.text_input(
        f"Password * (at least {MIN_PASSWORD_LENGTH} characters, not easy to guess)",
        type="password",
        key="add_user_password",
    )
    ui.field_error("add_user", "password")
    role = st.selectbox("Role *", ROLES, format_func=ui.named(ROLE_NAMES), key="add_user_role")
    ui.field_error("add_user", "role")
    ui.submit(
        "add_user",
        "Add user",
        lambda: users.create_user(db, user.username, username, password, role),
    )
    ui.result("add_user")

with manage_col:
    with st.form("user_access"):
        st.markdown("**Role and access**")
        who = st.selectbox("User *", names, index=None, key="user_access_user")
        new_role = st.selectbox(
            "Role",
            [None, *ROLES],
            format_func=lambda r: "Keep role" if r is None else ROLE_NAMES[r],
            key="user_access_role",
        )
        active = st.radio(
            "Access",
            ["keep", "deactivate", "reactivate"],
            horizontal=True,
            key="user_access_active",
            format_func=str.capitalize,
        )
        ui.field_error("user_access", "user", "role")
        ui.submit(
            "user_access",
            "Save",
            lambda: users.update_user_access(db, user.username, who, new_role, active),
        )
        ui.result("user_access")

    with st.form("reset_password"):
        st.markdown("**Reset password**")
        whose = st.selectbox("User *", names, index=None, key="reset_password_user")
        ui.field_error("reset_password", "user")
        new_password = st.text_input(
            "New password *", type="password", key="reset_password_password"
        )
        ui.field_error("reset_password", "password")
        ui.submit(
            "reset_password",
            "Reset password",
            lambda: users.reset_password(db, user.username, whose, new_password),
        )
        ui.result("reset_password")

    with st.form("unlock_user"):
        st.markdown("**Unlock**")
        locked = user_reads.locked_users(url, version)
        st.caption(
            f"A user is locked after {LOCK_AFTER} failed logins in a row and may log in "
            "again once unlocked here."
        )
        whom = st.selectbox(
            "Locked user *",
            locked,
            index=None,
            placeholder="Choose a user" if locked else "No one is locked",
            key="unlock_user_user",
        )
        ui.field_error("unlock_user", "user")
        ui.submit(
            "unlock_user",
            "Unlock",
            lambda: users.unlock_user(db, user.username, whom),
        )
        ui.result("unlock_user")

st.subheader("Contact details and locale")
st.caption(
    "Where a user's reminders and notifications go (e-mail), who they escalate to "
    "(manager), the owner name CRM exports give their contracts, and the locale the app "
    "shows them numbers, dates and product names in."
)
chosen = st.selectbox("User", names, index=None, key="contact_user")
if chosen:
    current = everyone.set_index("username").loc[chosen]
    form = f"contact_{chosen}"  # a form per user: its fields start from that user's values
    with st.form(form):
        email = st.text_input("E-mail", value=current.email or "", key=ui.key(form, "email"))
        ui.field_error(form, "email")
        others = [name for name in names if name != chosen]
        manager = st.selectbox(
            "Manager",
            others,
            index=others.index(current.manager) if current.manager in others else None,
            placeholder="No one",
            key=ui.key(form, "manager"),
        )
        ui.field_error(form, "manager")
        crm_owner = st.text_input(
            "CRM owner name", value=current.crm_owner or "", key=ui.key(form, "crm_owner")
        )
        ui.field_error(form, "crm_owner", "user")
        locale = st.selectbox(
            "Locale",
            USER_LOCALES,
            index=USER_LOCALES.index(current.locale),
            format_func=ui.named(fmt.LOCALE_NAMES),
            key=ui.key(form, "locale"),
            help="How numbers, amounts, dates and product names read for this user "
            "(nb: 1 250,50 kr, 3. des. 2026); the app's words stay English.",
        )
        ui.field_error(form, "locale")
        ui.submit(
            form,
            "Save contact details",
            lambda: users.set_contact_details(
                db,
                user.username,
                chosen,
                {
                    "email": email,
                    "manager": manager or "",
                    "crm_owner": crm_owner,
                    "locale": locale,
                },
            ),
        )
        ui.result(form)
