"""The public pages as a small Starlette app: plain HTTP, forms and redirects.

Everything a request may do is decided by the link's token (in the path) and the
browser's session cookie; each handler calls one service of ``avtale.services`` and
renders an autoescaped template. Every response says: do not cache, do not frame, send no
referrer (the token is in the address), load nothing from elsewhere.

Run by `avtale portal` (uvicorn); ``create_app`` takes the settings and the database so a
test can serve a data folder of its own.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from avtale.services import identity, portal, signing
from avtale.services.database import Database
from avtale.services.signing import Refused
from avtale.settings import Settings
from avtale.signing.tokens import digest, secret_key

HERE = Path(__file__).resolve().parent
BROWSER_COOKIE = "avtale_browser"
RETURN_COOKIE = "avtale_return"
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")
# Posts one address may make a minute (codes, tries, signatures): a brake on scripts.
POSTS_PER_MINUTE = 30
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
NOTICES = {
    "code": "We sent a code to your e-mail address. It holds for a few minutes.",
    "identified": "You are identified. You can now sign.",
    "signed": "Thank you: you have signed.",
    "declined": "You declined. The sender has been told your reason.",
}

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
)


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every response (pure ASGI: streams stay streams)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


class PostLimiter:
    """At most ``limit`` posts a minute per client address, in this process."""

    def __init__(self, limit: int = POSTS_PER_MINUTE) -> None:
        self.limit = limit
        self.seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        recent = self.seen[client]
        while recent and recent[0] < now - 60:
            recent.popleft()
        if len(recent) >= self.limit:
            return False
        recent.append(now)
        return True


def create_app(settings: Settings, db: Database, *, secure_cookies: bool = False) -> Starlette:
    key = secret_key(settings.paths)
    limiter = PostLimiter()

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(templates.get_template(name).render(**context), status_code=status)

    def refused(problem: Refused) -> HTMLResponse:
        status = 410 if problem.gone else 409
        return page(
            "message.html", status, heading="This link cannot be used", message=problem.message
        )

    def browser_of(request: Request) -> str | None:
        value = request.cookies.get(BROWSER_COOKIE)
        return value if value and TOKEN.fullmatch(value) else None

    def client(request: Request) -> tuple[str | None, str | None]:
        ip = request.client.host if request.client else None
        return ip, (request.headers.get("user-agent") or "")[:400] or None

    def csrf_of(browser: str) -> str:
        return digest(key, "csrf", browser)[:32]

    def with_cookie(response: Response, browser: str) -> Response:
        response.set_cookie(
            BROWSER_COOKIE, browser, httponly=True, samesite="lax", secure=secure_cookies, path="/"
        )
        return response

    def sign_page(token: str, browser: str, request: Request, **extra: Any) -> Response:
        ip, agent = client(request)
        view = signing.open_link(db, settings, token, browser, ip, agent)
        notice = NOTICES.get(request.query_params.get("done", ""))
        status = extra.pop("status", 200)
        return page(
            "sign.html",
            status,
            view=view,
            base=f"/sign/{token}",
            csrf=csrf_of(browser),
            notice=notice,
            **extra,
        )

    def show(request: Request) -> Response:
        token = request.path_params["token"]
        if not TOKEN.fullmatch(token):
            return refused(Refused("This link is not valid.", gone=True))
        browser = browser_of(request) or secrets.token_urlsafe(32)
        try:
            return with_cookie(sign_page(token, browser, request), browser)
        except Refused as problem:
            return refused(problem)

    def pdf(filename: str, data: bytes) -> Response:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
        disposition = f"inline; filename=\"{safe}\"; filename*=UTF-8''{quote(filename)}"
        return Response(
            data, media_type="application/pdf", headers={"Content-Disposition": disposition}
        )

    def document(request: Request) -> Response:
        try:
            return pdf(*signing.signing_document(db, settings, request.path_params["token"]))
        except Refused as problem:
            return refused(problem)

    def posted(
        step: Callable[[Request, str, str, Any], Response],
    ) -> Callable[[Request], Awaitable[Response]]:
        """A form post: the right browser, its CSRF field, within the rate; then ``step``."""

        async def handler(request: Request) -> Response:
            token = request.path_params["token"]
            browser = browser_of(request)
            ip, _agent = client(request)
            if not limiter.allow(ip or "-"):
                return page(
                    "message.html",
                    429,
                    heading="Too many tries",
                    message="Wait a minute and try again.",
                )
            if not TOKEN.fullmatch(token) or browser is None:
                return refused(
                    Refused("Open the link from your e-mail again (cookies are needed).")
                )
            form = await request.form()
            if not secrets.compare_digest(str(form.get("csrf") or ""), csrf_of(browser)):
                return refused(Refused("This form has expired. Open the link again."))
            try:  # the services block: in a worker thread, as Starlette runs sync endpoints
                return await run_in_threadpool(step, request, token, browser, form)
            except Refused as problem:
                return refused(problem)

        return handler

    def back(token: str, done: str) -> RedirectResponse:
        return RedirectResponse(f"/sign/{token}?done={done}", status_code=303)

    def send_code(request: Request, token: str, browser: str, form: Any) -> Response:
        ip, agent = client(request)
        signing.request_code(db, settings, token, browser, ip, agent)
        return back(token, "code")

    def verify(request: Request, token: str, browser: str, form: Any) -> Response:
        ip, agent = client(request)
        problem = signing.enter_code(
            db, settings, token, browser, str(form.get("code") or ""), ip, agent
        )
        if problem:
            return sign_page(token, browser, request, problem=problem, status=400)
        return back(token, "identified")

    def sign(request: Request, token: str, browser: str, form: Any) -> Response:
        ip, agent = client(request)
        outcome = signing.sign(
            db,
            settings,
            token,
            browser,
            typed_name=str(form.get("typed_name") or ""),
            consent=form.get("consent") == "yes",
            ip=ip,
            agent=agent,
        )
        if "last" not in outcome.detail:  # not signed; else signed, even if sealing failed
            return sign_page(
                token, browser, request, problem="; ".join(outcome.errors.values()), status=400
            )
        return back(token, "signed")

    def decline(request: Request, token: str, browser: str, form: Any) -> Response:
        ip, agent = client(request)
        outcome = signing.decline(
            db, settings, token, browser, reason=str(form.get("reason") or ""), ip=ip, agent=agent
        )
        if not outcome.ok:
            return sign_page(
                token, browser, request, problem="; ".join(outcome.errors.values()), status=400
            )
        return back(token, "declined")

    def identify(request: Request) -> Response:
        token = request.path_params["token"]
        browser = browser_of(request)
        if not TOKEN.fullmatch(token) or browser is None:
            return refused(Refused("Open the link from your e-mail again (cookies are needed)."))
        try:
            url = identity.begin_identity(
                db, settings, token, browser, f"{signing.portal_url()}/sign/callback"
            )
        except Refused as problem:
            return refused(problem)
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(
            RETURN_COOKIE,
            token,
            max_age=900,
            httponly=True,
            samesite="lax",
            secure=secure_cookies,
            path="/sign/callback",
        )
        return response

    def callback(request: Request) -> Response:
        token = request.cookies.get(RETURN_COOKIE) or ""
        browser = browser_of(request)
        if not TOKEN.fullmatch(token) or browser is None:
            return refused(Refused("Open the link from your e-mail again (cookies are needed)."))
        ip, agent = client(request)
        try:
            identity.complete_identity(
                db, settings, token, browser, dict(request.query_params), ip, agent
            )
        except Refused as problem:
            return refused(problem)
        response = back(token, "identified")
        response.delete_cookie(RETURN_COOKIE, path="/sign/callback")
        return response

    # --- the customer portal -------------------------------------------------------

    def portal_page(token: str, browser: str, **extra: Any) -> Response:
        status = extra.pop("status", 200)
        shown = portal.view(db, settings, token)
        context = {"view": shown, "base": f"/portal/{token}", "csrf": csrf_of(browser)}
        return page("portal.html", status, **context, **extra)

    def portal_home(request: Request) -> Response:
        token = request.path_params["token"]
        if not TOKEN.fullmatch(token):
            return refused(Refused("This link is not valid.", gone=True))
        browser = browser_of(request) or secrets.token_urlsafe(32)
        try:
            return with_cookie(portal_page(token, browser), browser)
        except Refused as problem:
            return refused(problem)

    def portal_document(request: Request) -> Response:
        try:
            return pdf(
                *portal.document(
                    db, settings, request.path_params["token"], int(request.path_params["id"])
                )
            )
        except Refused as problem:
            return refused(problem)

    def portal_invoice(request: Request) -> Response:
        try:
            return pdf(
                *portal.invoice_pdf(
                    db, settings, request.path_params["token"], request.path_params["number"]
                )
            )
        except Refused as problem:
            return refused(problem)

    def answered(token: str, browser: str, outcome: Any) -> Response:
        if outcome.ok:
            return portal_page(token, browser, notice=outcome.message)
        return portal_page(token, browser, problem="; ".join(outcome.errors.values()), status=400)

    def licences(request: Request, token: str, browser: str, form: Any) -> Response:
        quantities = {
            int(name.removeprefix("line_")): str(value)
            for name, value in form.items()
            if re.fullmatch(r"line_\d{1,6}", name)
        }
        number = request.path_params["number"]
        return answered(
            token, browser, portal.change_licences(db, settings, token, number, quantities)
        )

    def cancel(request: Request, token: str, browser: str, form: Any) -> Response:
        if form.get("confirm") != "yes":
            return portal_page(token, browser, problem="Tick the box to confirm.", status=400)
        number, reason = request.path_params["number"], str(form.get("reason") or "")
        return answered(token, browser, portal.cancel(db, settings, token, number, reason))

    def contact(request: Request, token: str, browser: str, form: Any) -> Response:
        phone, title = str(form.get("phone") or ""), str(form.get("title") or "")
        return answered(token, browser, portal.update_contact(db, settings, token, phone, title))

    def stylesheet(request: Request) -> Response:
        return Response((HERE / "portal.css").read_bytes(), media_type="text/css")

    def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        middleware=[Middleware(SecurityHeaders)],
        routes=[
            Route("/healthz", health),
            Route("/static/portal.css", stylesheet),
            Route("/sign/callback", callback),
            Route("/sign/{token}", show),
            Route("/sign/{token}/document", document),
            Route("/sign/{token}/eid", identify),
            Route("/sign/{token}/code", posted(send_code), methods=["POST"]),
            Route("/sign/{token}/verify", posted(verify), methods=["POST"]),
            Route("/sign/{token}/sign", posted(sign), methods=["POST"]),
            Route("/sign/{token}/decline", posted(decline), methods=["POST"]),
            Route("/portal/{token}", portal_home),
            Route("/portal/{token}/documents/{id:int}", portal_document),
            Route("/portal/{token}/invoices/{number}", portal_invoice),
            Route(
                "/portal/{token}/contracts/{number}/licences", posted(licences), methods=["POST"]
            ),
            Route("/portal/{token}/contracts/{number}/cancel", posted(cancel), methods=["POST"]),
            Route("/portal/{token}/contact", posted(contact), methods=["POST"]),
        ],
    )


def app_from_environment() -> Starlette:
    """The app for the data folder of the environment (what `avtale portal` serves)."""
    from avtale.services.database import open_database
    from avtale.settings import load_settings

    settings = load_settings()
    secure = signing.portal_url().startswith("https://")  # cookies only over https then
    return create_app(settings, open_database(settings.paths), secure_cookies=secure)
