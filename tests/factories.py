"""Plain factory functions for tests."""

import itertools
import re

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.accounts.schemas import RegisterIn
from app.core.clock import utcnow
from app.core.settings import Settings

PASSWORD = "correct battery staple horse lamp"
_counter = itertools.count(1)


def make_user(
    session: Session,
    *,
    role: Role = Role.learner,
    email: str | None = None,
    password: str = PASSWORD,
    full_name: str = "Dana Example",
) -> User:
    email = email or f"user{next(_counter)}-{role.value}@example.org"
    data = RegisterIn(
        email=email,
        password=password,
        full_name=full_name,
        profession="Clinical Social Worker (LCSW)",
        license_number="LCSW-12345",
        license_state="CA",
    )
    user = accounts.create_user(session, data, role=role, now=utcnow(), settings=Settings())
    session.flush()
    return user


def csrf_token(client: TestClient, path: str = "/signin") -> str:
    """Loads a page so the CSRF cookie is set; returns the token the page carries."""
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def web_login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    token = csrf_token(client)
    response = client.post(
        "/signin",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def api_token(
    client: TestClient, email: str, password: str = PASSWORD, otp: str | None = None
) -> str:
    data = {"username": email, "password": password}
    if otp:
        data["otp"] = otp
    response = client.post("/api/v1/auth/token", data=data)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
