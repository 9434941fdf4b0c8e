"""CSRF check for every state-changing page request (form field or htmx header)."""

from urllib.parse import urlparse

from fastapi import Request

from app.core.deps import CSRF_COOKIE
from app.core.errors import Forbidden
from app.core.security import constant_time_equals

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def csrf_protect(request: Request) -> None:
    """Double-submit check: the form field or X-CSRF-Token header must equal the cookie."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if urlparse(origin).netloc != host:
            raise Forbidden("cross-origin form submission refused")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get("x-csrf-token", "")
    if not sent and "form" in request.headers.get("content-type", ""):
        form = await request.form()
        value = form.get("csrf_token", "")
        sent = value if isinstance(value, str) else ""
    if not cookie or not sent or not constant_time_equals(cookie, sent):
        raise Forbidden(
            "the form's security token is missing or out of date: reload the page and try again"
        )
