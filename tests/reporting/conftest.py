import pytest

from app.accounts.models import Role
from tests.factories import api_token, bearer, make_user, web_login


def pytest_configure(config: pytest.Config) -> None:
    # Also registered by tests/e2e/conftest.py; here too, for runs of tests/reporting alone.
    config.addinivalue_line("markers", "e2e: browser tests (live server + chromium)")


@pytest.fixture
def admin(session):
    user = make_user(session, role=Role.admin, full_name="Ada Admin")
    session.commit()
    return user


@pytest.fixture
def admin_headers(client, admin):
    return bearer(api_token(client, admin.email))


@pytest.fixture
def admin_browser(client, admin):
    """The client signed in as the admin (cookies), for page tests."""
    web_login(client, admin.email)
    return client
