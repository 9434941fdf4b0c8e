"""Account deletion: contact details and sign-in means go, completion records stay verifiable."""

from datetime import timedelta

import pyotp
import pytest
from sqlmodel import select

from app.accounts import service as accounts
from app.accounts.models import (
    LoginFailure,
    PasswordResetToken,
    RecoveryCode,
    Role,
    User,
    WebSession,
)
from app.certificates.models import Certificate
from app.core.clock import utcnow
from app.core.errors import DomainError
from app.licences.models import Licence
from app.quizzes.models import EvaluationResponse, QuizAttempt
from app.records import service as records
from app.records.errors import LastAdministrator, WrongPassword
from tests.factories import PASSWORD, api_token, bearer, csrf_token, make_user, web_login
from tests.records.helpers import certify, demo_course


@pytest.fixture
def learner(session, settings):
    course = demo_course(session)
    user = make_user(session, full_name="Robin Leaving")
    cert = certify(session, user, course, settings)
    return user, cert


def _assert_deleted(session, user, old_email, cert):
    session.expire_all()
    row = session.get(User, user.id)
    assert row.email == f"deleted-{row.uuid}@invalid.example"
    assert row.full_name == "Deleted account"
    assert (row.profession, row.license_number, row.license_state) == ("", "", "")
    assert row.is_active is False and row.deleted_at is not None
    assert row.totp_secret is None and row.is_totp_enabled is False
    assert session.exec(select(User).where(User.email == old_email)).first() is None
    for table in (WebSession, RecoveryCode, PasswordResetToken, Licence):
        assert session.exec(select(table).where(table.user_id == user.id)).all() == []
    assert (
        session.exec(select(LoginFailure).where(LoginFailure.key.contains(old_email))).all() == []
    )
    evaluation = session.exec(
        select(EvaluationResponse).where(EvaluationResponse.user_id == user.id)
    ).one()
    assert evaluation.answers["comments"] == "" and evaluation.answers["objectives-met"] == 4
    # Completion records stay, exactly as issued.
    kept = session.get(Certificate, cert.id)
    assert (kept.learner_name, kept.license_number, kept.token) == (
        "Robin Leaving",
        "LCSW-12345",
        cert.token,
    )
    assert session.exec(select(QuizAttempt).where(QuizAttempt.user_id == user.id)).all()


def test_deleting_through_the_page(client, session, settings, learner):
    user, cert = learner
    old_email = user.email
    # Things deletion must sweep away: a failed sign-in, a reset link, two-factor codes.
    client.post(
        "/signin",
        data={"email": old_email, "password": "not it at all", "csrf_token": csrf_token(client)},
    )
    accounts.request_password_reset(session, old_email, now=utcnow(), settings=settings)
    secret = pyotp.random_base32()
    accounts.enable_totp(session, user, secret, pyotp.TOTP(secret).now(), now=utcnow())
    user.is_totp_enabled = False  # sign in below with the password alone; the codes stay
    session.commit()
    web_login(client, old_email)
    page = client.get("/account/delete")
    assert page.status_code == 200
    assert "What is deleted" in page.text and "What is kept, and why" in page.text
    assert '<label for="password"' in page.text
    token = csrf_token(client, "/account/delete")
    wrong = client.post("/account/delete", data={"password": "wrong" * 4, "csrf_token": token})
    assert wrong.status_code == 403
    assert 'id="password-error"' in wrong.text and "password is wrong" in wrong.text
    assert session.get(User, user.id).deleted_at is None
    done = client.post("/account/delete", data={"password": PASSWORD, "csrf_token": token})
    assert done.status_code == 200 and "Your account is deleted" in done.text
    assert (
        'lms_session=""' in done.headers["set-cookie"] or "Max-Age=0" in done.headers["set-cookie"]
    )
    _assert_deleted(session, user, old_email, cert)
    # Signed out, and the account cannot be signed in to again.
    assert client.get("/account", follow_redirects=False).status_code == 303
    signin = client.post(
        "/signin", data={"email": old_email, "password": PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert signin.status_code == 401
    # The certificate still verifies, and the email is free for a new account.
    verified = client.get(f"/api/v1/certificates/{cert.code}").json()
    assert verified["status"] == "valid" and verified["learner_name"] == "Robin Leaving"
    assert "valid" in client.get(f"/verify/{cert.code}").text.lower()
    again = client.post(
        "/api/v1/auth/register",
        json={
            "email": old_email,
            "password": PASSWORD,
            "full_name": "Robin Returning",
            "profession": "Psychologist",
            "license_number": "",
            "license_state": "",
        },
    )
    assert again.status_code == 201, again.text
    fresh = client.get("/api/v1/me", headers=bearer(api_token(client, old_email))).json()
    assert fresh["full_name"] == "Robin Returning" and fresh["id"] != user.id
    mine = client.get("/api/v1/me/certificates", headers=bearer(api_token(client, old_email)))
    assert mine.json() == []  # the new account starts empty


def test_deleting_through_the_api(client, session, learner):
    user, cert = learner
    old_email = user.email
    auth = bearer(api_token(client, old_email))
    wrong = client.request("DELETE", "/api/v1/me", json={"password": "nope" * 4}, headers=auth)
    assert wrong.status_code == 403 and wrong.json()["field"] == "password"
    done = client.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=auth)
    assert done.status_code == 204
    assert client.get("/api/v1/me", headers=auth).status_code == 401  # the token is dead
    _assert_deleted(session, user, old_email, cert)
    token = client.post("/api/v1/auth/token", data={"username": old_email, "password": PASSWORD})
    assert token.status_code == 401
    assert client.get(f"/api/v1/certificates/{cert.code}").json()["status"] == "valid"


def test_the_only_administrator_cannot_delete_their_account(session):
    admins = session.exec(select(User).where(User.role == Role.admin)).all()
    for other in admins:  # whatever admins the database already holds do not count here
        other.is_active = False
    admin = make_user(session, role=Role.admin)
    with pytest.raises(LastAdministrator):
        records.delete_account(session, admin, password=PASSWORD, now=utcnow())
    second = make_user(session, role=Role.admin)
    records.delete_account(session, admin, password=PASSWORD, now=utcnow())
    assert admin.deleted_at is not None
    with pytest.raises(LastAdministrator):
        records.delete_account(session, second, password=PASSWORD, now=utcnow())


def test_wrong_password_changes_nothing(session, learner):
    user, _cert = learner
    with pytest.raises(WrongPassword):
        records.delete_account(session, user, password="", now=utcnow())
    assert user.is_active and user.deleted_at is None and "@example.org" in user.email


def test_a_deleted_account_cannot_be_deleted_twice(session, learner):
    user, _cert = learner
    records.delete_account(session, user, password=PASSWORD, now=utcnow())
    with pytest.raises(DomainError):
        records.delete_account(
            session, user, password=PASSWORD, now=utcnow() + timedelta(seconds=1)
        )
