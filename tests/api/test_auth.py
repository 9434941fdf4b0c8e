import base64
import json
from datetime import timedelta

import pyotp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwt

from app.accounts import service as accounts
from app.core.clock import utcnow
from app.core.security import create_access_token
from tests.factories import PASSWORD, api_token, bearer, make_user

REGISTRATION = {
    "email": "new.learner@example.org",
    "password": "seven orange kites drifting",
    "full_name": "Ngozi Okafor-Łukasiewicz",
    "profession": "Professional Counselor (LPC/LPCC/LMHC)",
    "license_number": "LPC-998",
    "license_state": "tx",
}


def test_register_creates_a_learner(client):
    response = client.post("/api/v1/auth/register", json=REGISTRATION)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "new.learner@example.org"
    assert body["role"] == "learner"
    assert body["license_state"] == "TX"
    assert "password" not in json.dumps(body)


def test_register_duplicate_email_is_409(client):
    assert client.post("/api/v1/auth/register", json=REGISTRATION).status_code == 201
    again = client.post(
        "/api/v1/auth/register", json={**REGISTRATION, "email": "NEW.Learner@example.org"}
    )
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"password": "too short"}, "at least 15"),
        ({"password": "passwordpassword"}, "commonly used"),
        ({"password": "Ngozi Okafor 2024"}, "your name"),
        ({"license_state": "ZZ"}, "two-letter"),
        ({"full_name": ""}, "full_name"),
        ({"role": "admin"}, "role"),
    ],
)
def test_register_rejects_bad_input_with_a_reason(client, change, needle):
    response = client.post("/api/v1/auth/register", json={**REGISTRATION, **change})
    assert response.status_code == 422, response.text
    assert needle in response.json()["detail"]


def test_token_success_and_me(client, session):
    user = make_user(session)
    session.commit()
    response = client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    me = client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == user.email


def test_token_wrong_password_is_401_and_then_429(client, session, settings):
    user = make_user(session)
    session.commit()
    for _ in range(settings.login_max_failures_per_account):
        bad = client.post(
            "/api/v1/auth/token", data={"username": user.email, "password": "nope" * 4}
        )
        assert bad.status_code == 401
        assert bad.json()["detail"] == "wrong email or password"
    throttled = client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": PASSWORD}
    )
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert throttled.json()["retry_after"] > 0


def test_token_for_unknown_email_is_the_same_401(client):
    response = client.post(
        "/api/v1/auth/token", data={"username": "ghost@example.org", "password": "x" * 20}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "wrong email or password"


def test_token_with_totp(client, session):
    user = make_user(session)
    secret, _ = accounts.totp_provisioning(
        user, settings=__import__("app.core.settings", fromlist=["Settings"]).Settings()
    )
    accounts.enable_totp(
        session,
        user,
        secret,
        pyotp.TOTP(secret).at(utcnow() - timedelta(seconds=30)),
        now=utcnow() - timedelta(seconds=30),
    )
    session.commit()
    missing = client.post("/api/v1/auth/token", data={"username": user.email, "password": PASSWORD})
    assert missing.status_code == 401
    assert "one-time code" in missing.json()["detail"]
    wrong = client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": PASSWORD, "otp": "12345"}
    )
    assert wrong.status_code == 401
    token = api_token(client, user.email, otp=pyotp.TOTP(secret).now())
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200


def _b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hmac_token(claims: dict, secret: bytes) -> str:
    import hashlib
    import hmac

    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(claims)}"
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(sig)}"


def _forged_tokens(app, user) -> dict[str, str]:
    now = utcnow()
    claims = {
        "sub": user.uuid,
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 600,
    }
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    good = create_access_token(app.state.token_secret, user.uuid, now=now, minutes=5)
    head, body, sig = good.split(".")
    return {
        "garbage": "not-a-token",
        "empty segments": "..",
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "other secret": jwt.encode(claims, "another secret entirely", algorithm="HS256"),
        "es256": jwt.encode(claims, pem.decode(), algorithm="ES256"),
        "hs256 with a public key as secret": _hmac_token(claims, public_pem),
        "expired": create_access_token(
            app.state.token_secret, user.uuid, now=now - timedelta(hours=1), minutes=5
        ),
        "tampered payload": f"{head}.{_b64({**claims, 'sub': 'someone-else'})}.{sig}",
        "header not json": f"{_b64(b'{not json')}.{body}.{sig}",
        "bad base64": f"{head}.%%%.{sig}",
        "no typ": jwt.encode(
            {k: v for k, v in claims.items() if k != "typ"},
            app.state.token_secret,
            algorithm="HS256",
        ),
        "sub not a string": jwt.encode(
            {**claims, "sub": 42}, app.state.token_secret, algorithm="HS256"
        ),
        "unknown user": create_access_token(
            app.state.token_secret, "00000000-0000-0000-0000-000000000000", now=now, minutes=5
        ),
    }


def test_malformed_and_forged_bearer_tokens_are_401_never_500(client, app, session):
    user = make_user(session)
    session.commit()
    for name, token in _forged_tokens(app, user).items():
        response = client.get("/api/v1/me", headers=bearer(token))
        assert response.status_code == 401, (name, response.status_code, response.text)
        assert response.json()["detail"], name
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_staff_without_required_second_factor_get_no_token(client, session):
    from app.accounts.models import Role

    user = make_user(session, role=Role.instructor)
    accounts.set_site_setting(session, accounts.MFA_REQUIRED_FOR_STAFF, "true")
    session.commit()
    response = client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]
