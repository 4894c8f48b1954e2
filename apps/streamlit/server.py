"""The app's web server: the Streamlit app, and two small routes that keep a login across
reloads and new tabs (issue 14, item 5).

Streamlit cannot set a cookie, and a cookie a script on the page can read is a cookie a
page-injected script can steal. So after a login the page posts its one-time ticket to
``/_avtale/session``, which answers with the session token in an HttpOnly, SameSite=Strict
cookie; every new browser session of the app reads it (``st.context.cookies``) and the
database says whether it is still live (``common.access``). ``/_avtale/logout`` ends the
session and clears the cookie. ``avtale app`` serves this file.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from avtale.services import users
from avtale.services.database import open_database
from avtale.settings import paths
from avtale.signing.tokens import secret_key

COOKIE = "avtale_staff_session"
MAX_TICKET_LENGTH = 100


def same_origin(request: Request) -> bool:
    """Whether the post comes from a page of this server: a browser always says where a
    post comes from, and another site's page must not log anyone in or out here."""
    origin = request.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc == request.headers.get("host")


def secure(request: Request) -> bool:
    scheme = request.headers.get("x-forwarded-proto", request.url.scheme)
    return scheme == "https"


async def claim_session(request: Request) -> Response:
    """Exchange a login's ticket (the body) for the session cookie."""
    ticket = (await request.body()).decode("ascii", "replace")
    if not same_origin(request) or len(ticket) > MAX_TICKET_LENGTH:
        return Response(status_code=403)
    home = paths()
    token = await run_in_threadpool(
        users.claim_session, open_database(home), ticket, secret_key(home)
    )
    if token is None:
        return Response(status_code=403)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        COOKIE,
        token,
        max_age=users.SESSION_HOURS * 3600,
        path="/",
        secure=secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


async def end_session(request: Request) -> Response:
    """Log the cookie's session out (the app has usually done so already) and clear it."""
    if not same_origin(request):
        return Response(status_code=403)
    token = request.cookies.get(COOKIE)
    if token:
        home = paths()
        database = open_database(home)
        found = await run_in_threadpool(users.resume_session, database, token, secret_key(home))
        if found is not None:
            await run_in_threadpool(users.log_out, database, found.id)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(COOKIE, path="/", secure=secure(request), httponly=True)
    return response


app = st.App(
    "streamlit_app.py",
    routes=[
        Route("/_avtale/session", claim_session, methods=["POST"]),
        Route("/_avtale/logout", end_session, methods=["POST"]),
    ],
)
