from datetime import timedelta

import pyotp
import pytest

from app.accounts import service as accounts
from app.accounts.errors import BadCredentials, LoginThrottled, SecondFactorRequired
from app.accounts.models import Role
from app.core.clock import utcnow
from app.core.settings import Settings
from tests.factories import PASSWORD, make_user

SETTINGS = Settings()


def test_failed_logins_per_account_are_throttled_then_expire(session):
    user = make_user(session)
    now = utcnow()
    for _ in range(SETTINGS.login_max_failures_per_account):
        with pytest.raises(BadCredentials):
            accounts.authenticate(
                session,
                user.email,
                "wrong password here",
                address="10.0.0.1",
                now=now,
                settings=SETTINGS,
            )
    with pytest.raises(LoginThrottled) as exc:
        accounts.authenticate(
            session, user.email, PASSWORD, address="10.0.0.2", now=now, settings=SETTINGS
        )
    assert exc.value.extra["retry_after"] > 0
    later = now + timedelta(minutes=SETTINGS.login_window_minutes, seconds=1)
    assert (
        accounts.authenticate(
            session, user.email, PASSWORD, address="10.0.0.2", now=later, settings=SETTINGS
        ).id
        == user.id
    )


def test_failed_logins_per_address_are_throttled_across_accounts(session):
    settings = Settings(login_max_failures_per_address=3)
    now = utcnow()
    for i in range(3):
        with pytest.raises(BadCredentials):
            accounts.authenticate(
                session,
                f"nobody{i}@example.org",
                "x" * 16,
                address="10.9.9.9",
                now=now,
                settings=settings,
            )
    user = make_user(session)
    with pytest.raises(LoginThrottled):
        accounts.authenticate(
            session, user.email, PASSWORD, address="10.9.9.9", now=now, settings=settings
        )


def test_totp_enrolment_and_login_reject_replay(session):
    user = make_user(session, role=Role.instructor)
    now = utcnow()
    secret, uri = accounts.totp_provisioning(user, SETTINGS)
    assert uri.startswith("otpauth://totp/")
    with pytest.raises(Exception, match="does not match"):
        accounts.enable_totp(
            session,
            user,
            secret,
            "000000" if pyotp.TOTP(secret).at(now) != "000000" else "111111",
            now=now,
        )
    codes = accounts.enable_totp(session, user, secret, pyotp.TOTP(secret).at(now), now=now)
    assert len(codes) == 10 and len(set(codes)) == 10
    later = now + timedelta(seconds=60)
    with pytest.raises(SecondFactorRequired):
        accounts.login(
            session, user.email, PASSWORD, None, address=None, now=later, settings=SETTINGS
        )
    code = pyotp.TOTP(secret).at(later)
    assert accounts.login(
        session, user.email, PASSWORD, code, address=None, now=later, settings=SETTINGS
    )
    with pytest.raises(BadCredentials):  # the same code cannot be used twice
        accounts.login(
            session, user.email, PASSWORD, code, address=None, now=later, settings=SETTINGS
        )
    # A recovery code works exactly once.
    assert accounts.login(
        session, user.email, PASSWORD, codes[0], address=None, now=later, settings=SETTINGS
    )
    with pytest.raises(BadCredentials):
        accounts.login(
            session, user.email, PASSWORD, codes[0], address=None, now=later, settings=SETTINGS
        )


def test_mfa_can_be_made_mandatory_for_staff_only(session):
    learner = make_user(session)
    instructor = make_user(session, role=Role.instructor)
    accounts.set_site_setting(session, accounts.MFA_REQUIRED_FOR_STAFF, "true")
    assert not accounts.needs_mfa_setup(session, learner)
    assert accounts.needs_mfa_setup(session, instructor)


def test_logout_deletes_the_session_row(session):
    user = make_user(session)
    now = utcnow()
    raw = accounts.start_web_session(session, user, now=now, settings=SETTINGS, mfa_pending=False)
    assert accounts.find_web_session(session, raw, now=now) is not None
    accounts.end_web_session(session, raw)
    assert accounts.find_web_session(session, raw, now=now) is None


def test_expired_sessions_are_not_found(session):
    user = make_user(session)
    now = utcnow()
    raw = accounts.start_web_session(session, user, now=now, settings=SETTINGS, mfa_pending=False)
    assert (
        accounts.find_web_session(
            session, raw, now=now + timedelta(hours=SETTINGS.session_hours + 1)
        )
        is None
    )
