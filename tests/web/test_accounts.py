import re

from app.accounts.models import Role
from tests.factories import PASSWORD, csrf_token, make_user, web_login


def _signup(client, **overrides):
    data = {
        "email": "sam.rivera@example.org",
        "password": "maple harbour quietly singing",
        "full_name": "Sam Rivera",
        "profession": "Marriage and Family Therapist (LMFT)",
        "license_number": "MFT-1",
        "license_state": "OR",
        "csrf_token": csrf_token(client, "/signup"),
    }
    data.update(overrides)
    return client.post("/signup", data=data, follow_redirects=False)


def test_signup_page_is_accessible_form(client):
    page = client.get("/signup")
    assert page.status_code == 200
    for field in (
        "email",
        "password",
        "full_name",
        "profession",
        "license_number",
        "license_state",
    ):
        assert f'<label for="{field}"' in page.text
    assert 'href="#main"' in page.text  # skip link
    assert "<main" in page.text and "<nav" in page.text


def test_signup_signs_in_and_shows_dashboard(client):
    response = _signup(client)
    assert response.status_code == 303
    assert "lms_session" in response.cookies
    assert client.get("/dashboard").status_code == 200


def test_signup_errors_are_shown_next_to_the_field(client):
    response = _signup(client, password="short")
    assert response.status_code == 422
    assert 'id="password-error"' in response.text
    assert "at least 15" in response.text
    assert 'value="sam.rivera@example.org"' in response.text  # input kept


def test_signin_wrong_password_then_right(client, session):
    user = make_user(session)
    session.commit()
    bad = client.post(
        "/signin",
        data={"email": user.email, "password": "wrong" * 4, "csrf_token": csrf_token(client)},
    )
    assert bad.status_code == 401
    assert "wrong email or password" in bad.text
    web_login(client, user.email)
    assert client.get("/account").status_code == 200


def test_signin_is_throttled_in_the_browser_too(client, session, settings):
    user = make_user(session)
    session.commit()
    token = csrf_token(client)
    for _ in range(settings.login_max_failures_per_account):
        client.post(
            "/signin", data={"email": user.email, "password": "x" * 20, "csrf_token": token}
        )
    response = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429
    assert "too many failed sign-ins" in response.text


def test_signout_invalidates_the_session_server_side(client, session):
    user = make_user(session)
    session.commit()
    web_login(client, user.email)
    cookie = client.cookies.get("lms_session")
    token = csrf_token(client, "/account")
    assert (
        client.post("/signout", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    client.cookies.set("lms_session", cookie)  # replay the old cookie
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin")


def test_pages_without_login_redirect_to_signin(client):
    response = client.get("/dashboard", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/dashboard"


def test_open_redirects_are_refused(client, session):
    user = make_user(session)
    session.commit()
    response = client.post(
        "/signin",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": "//evil.example",
            "csrf_token": csrf_token(client),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/dashboard"


def test_csrf_missing_or_wrong_token_is_403(client, session):
    user = make_user(session)
    session.commit()
    csrf_token(client)
    no_token = client.post("/signin", data={"email": user.email, "password": PASSWORD})
    assert no_token.status_code == 403
    wrong = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": "x" * 43}
    )
    assert wrong.status_code == 403
    web_login(client, user.email)
    for path in ("/signout", "/account/profile", "/account/password"):
        assert client.post(path, data={"full_name": "X"}).status_code == 403, path


def test_csrf_cross_origin_is_403_even_with_a_token(client):
    token = csrf_token(client)
    response = client.post(
        "/signin",
        data={"email": "a@example.org", "password": "x", "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_htmx_header_token_is_accepted(client, session):
    user = make_user(session)
    session.commit()
    token = csrf_token(client)
    response = client.post(
        "/signin",
        data={"email": user.email, "password": PASSWORD},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_security_headers_on_every_response(client):
    for path in ("/", "/signin", "/api/v1/me", "/nope", "/healthz"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


def test_no_inline_script_in_pages(client):
    page = client.get("/signup").text
    for script in re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S):
        assert script.strip() == ""
    assert " on" not in re.sub(
        r"<[^>]*>", lambda m: m.group(0).replace(" on", "") if False else m.group(0), ""
    )


def test_error_pages_have_no_stack_traces(client, app):
    @app.get("/boom-for-test")
    def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/api/v1/boom-for-test")
    def api_boom() -> None:
        raise RuntimeError("secret internals")

    page = client.get("/boom-for-test")
    assert page.status_code == 500
    assert "secret internals" not in page.text and "Traceback" not in page.text
    api = client.get("/api/v1/boom-for-test")
    assert api.status_code == 500
    assert api.json() == {"detail": "something went wrong on our side; the error has been logged"}
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "Page not found" in missing.text
    assert client.get("/api/v1/no-such").json() == {"detail": "not found"}


def test_oversized_request_is_413(client):
    response = client.post(
        "/api/v1/auth/register",
        content=b"x" * (3 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


def test_malformed_json_is_422_with_detail(client):
    response = client.post(
        "/api/v1/auth/register", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str)


def test_staff_are_sent_to_two_factor_setup_when_required(client, session):
    from app.accounts import service as accounts

    admin = make_user(session, role=Role.admin)
    accounts.set_site_setting(session, accounts.MFA_REQUIRED_FOR_STAFF, "true")
    session.commit()
    web_login(client, admin.email)
    response = client.get("/admin", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/two-factor"
    assert client.get("/account/two-factor").status_code == 200


def test_totp_enrolment_and_two_step_signin_in_the_browser(client, session):
    import pyotp

    user = make_user(session)
    session.commit()
    web_login(client, user.email)
    page = client.get("/account/two-factor")
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page.text).group(1)
    token = csrf_token(client, "/account")
    done = client.post(
        "/account/two-factor",
        data={"secret": secret, "code": pyotp.TOTP(secret).now(), "csrf_token": token},
    )
    assert done.status_code == 200
    assert len(re.findall(r"<li><code>", done.text)) == 10
    client.post("/signout", data={"csrf_token": token})
    token = csrf_token(client)
    first = client.post(
        "/signin",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert first.headers["location"].startswith("/signin/two-factor")
    assert client.get("/account", follow_redirects=False).status_code == 303  # not signed in yet
    recovery = re.findall(r"<li><code>([^<]+)</code>", done.text)[0]
    second = client.post(
        "/signin/two-factor", data={"code": recovery, "csrf_token": token}, follow_redirects=False
    )
    assert second.status_code == 303
    assert client.get("/account").status_code == 200


def test_signup_with_empty_fields_shows_the_form_again(client):
    response = client.post("/signup", data={"csrf_token": csrf_token(client, "/signup")})
    assert response.status_code == 422
    assert "<form" in response.text and 'class="field-error"' in response.text
