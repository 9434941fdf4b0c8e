"""Pure ASGI middleware: security headers, the CSRF cookie, and a request-size limit."""

import secrets
from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, *, csrf_cookie: str, secure: bool, max_body: int) -> None:
        self.app = app
        self.csrf_cookie = csrf_cookie
        self.secure = secure
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _too_large(send)
            return
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get(b"cookie", b"").decode("latin-1"))
        except Exception:  # a malformed cookie header is treated as no cookies
            cookies = SimpleCookie()
        token = cookies[self.csrf_cookie].value if self.csrf_cookie in cookies else ""
        is_new = len(token) < 32
        if is_new:
            token = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_token"] = token
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = list(message.get("headers", []))
                out.extend(SECURITY_HEADERS)
                if self.secure:
                    out.append((b"strict-transport-security", b"max-age=31536000"))
                if is_new:
                    cookie = f"{self.csrf_cookie}={token}; Path=/; HttpOnly; SameSite=Strict"
                    if self.secure:
                        cookie += "; Secure"
                    out.append((b"set-cookie", cookie.encode()))
                message["headers"] = out
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            await _too_large(send)


class BodyTooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    body = b'{"detail":"request body too large"}'
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), *SECURITY_HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": body})
