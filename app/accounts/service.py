"""Accounts: registration, sign-in with throttling, sessions, second factor, password reset."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, delete, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.accounts.errors import (
    BadCredentials,
    EmailTaken,
    InvalidResetToken,
    LoginThrottled,
    SecondFactorRequired,
    WeakPassword,
)
from app.accounts.models import (
    LoginFailure,
    PasswordResetToken,
    RecoveryCode,
    Role,
    SiteSetting,
    User,
    WebSession,
)
from app.accounts.passwords import PasswordContext, password_problem
from app.accounts.schemas import RegisterIn
from app.core.clock import as_utc
from app.core.db import rowcount
from app.core.errors import Invalid, NotFound
from app.core.fastread import need
from app.core.security import (
    burn_password_check,
    hash_password,
    random_token,
    token_digest,
    verify_password,
)
from app.core.settings import Settings
from app.licences import service as licences

MFA_REQUIRED_FOR_STAFF = "mfa_required_for_staff"
RECOVERY_CODE_COUNT = 10


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    body: str


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == normalize_email(email))).first()


def get_user(session: Session, user_id: int) -> User:
    """The user with this id; raises NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def check_password_rules(
    password: str, *, email: str, full_name: str, settings: Settings, has_second_factor: bool
) -> None:
    """Raises WeakPassword with the reason when the password breaks the rules."""
    context = PasswordContext(email=email, full_name=full_name, site_name=settings.site_name)
    problem = password_problem(password, context, has_second_factor=has_second_factor)
    if problem:
        raise WeakPassword(problem, field="password")


def create_user(
    session: Session,
    data: RegisterIn,
    *,
    role: Role = Role.learner,
    now: datetime,
    settings: Settings,
) -> User:
    """A new account; raises EmailTaken or WeakPassword."""
    email = normalize_email(str(data.email))
    check_password_rules(
        data.password,
        email=email,
        full_name=data.full_name,
        settings=settings,
        has_second_factor=False,
    )
    if find_user_by_email(session, email) is not None:
        raise EmailTaken("an account with this email already exists", field="email")
    user = User(
        email=email,
        full_name=data.full_name,
        profession=data.profession,
        license_number=data.license_number,
        license_state=data.license_state,
        role=role,
        password_hash=hash_password(data.password),
        created_at=now,
    )
    session.add(user)
    session.flush()
    licences.seed_from_profile(
        session,
        user,
        profession=data.profession,
        state=data.license_state,
        number=data.license_number,
        now=now,
    )
    return user


def _throttle_keys(email: str, address: str | None) -> list[str]:
    keys = [f"account:{normalize_email(email)}"]
    if address:
        keys.append(f"address:{address}")
    return keys


def _check_throttle(
    session: Session, email: str, address: str | None, *, now: datetime, settings: Settings
) -> None:
    since = now - timedelta(minutes=settings.login_window_minutes)
    limits = [settings.login_max_failures_per_account, settings.login_max_failures_per_address]
    for key, limit in zip(_throttle_keys(email, address), limits, strict=False):
        count, oldest = session.exec(
            select(func.count(), func.min(LoginFailure.created_at)).where(
                LoginFailure.key == key, col(LoginFailure.created_at) > since
            )
        ).one()
        if count >= limit:
            retry = as_utc(oldest) + timedelta(minutes=settings.login_window_minutes) - now
            raise LoginThrottled(
                "too many failed sign-ins; try again later",
                retry_after=max(1, int(retry.total_seconds()) + 1),
            )


def _record_failure(session: Session, email: str, address: str | None, *, now: datetime) -> None:
    for key in _throttle_keys(email, address):
        session.add(LoginFailure(key=key, created_at=now))
    session.flush()


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    address: str | None,
    now: datetime,
    settings: Settings,
) -> User:
    """The user whose email and password match; raises LoginThrottled or BadCredentials.

    On BadCredentials the failure rows are already flushed: the caller commits before
    re-raising, so throttling counts hold even though the request fails.
    """
    _check_throttle(session, email, address, now=now, settings=settings)
    user = find_user_by_email(session, email)
    if user is None:
        burn_password_check(password)
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        _record_failure(session, email, address, now=now)
        raise BadCredentials("wrong email or password")
    return user


def clear_failures(session: Session, user: User) -> None:
    """Forget an account's failed sign-ins after a complete, successful sign-in."""
    session.execute(delete(LoginFailure).where(col(LoginFailure.key) == f"account:{user.email}"))


# --- second factor -------------------------------------------------------------------------


def totp_provisioning(user: User, settings: Settings) -> tuple[str, str]:
    """A fresh secret for enrolment and its otpauth:// URI (not saved until confirmed)."""
    secret = pyotp.random_base32()
    return secret, totp_uri(user, secret, settings)


def totp_uri(user: User, secret: str, settings: Settings) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=settings.site_name)


def _totp_step(secret: str, code: str, *, now: datetime, last_step: int | None) -> int | None:
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // totp.interval
    for step in (current - 1, current, current + 1):  # one step of clock drift either way
        if last_step is not None and step <= last_step:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user.id))
    codes = [random_token(8)[:10].lower() for _ in range(RECOVERY_CODE_COUNT)]
    assert user.id is not None  # noqa: S101
    for code in codes:
        session.add(RecoveryCode(user_id=user.id, code_hash=token_digest(code)))
    session.flush()
    return codes


def enable_totp(
    session: Session, user: User, secret: str, code: str, *, now: datetime
) -> list[str]:
    """Turns on TOTP once a code from the new secret checks out; returns fresh recovery codes."""
    step = _totp_step(secret, code, now=now, last_step=None)
    if step is None:
        raise Invalid("that code does not match; check the time on your device", field="code")
    user.totp_secret = secret
    user.is_totp_enabled = True
    user.totp_last_step = step
    session.add(user)
    return _new_recovery_codes(session, user)


def disable_totp(session: Session, user: User, password: str, *, settings: Settings) -> None:
    """Turns TOTP off after re-checking the password; refused where the site requires it."""
    if not verify_password(user.password_hash, password):
        raise BadCredentials("wrong password", field="password")
    if is_mfa_required(session, user):
        raise Invalid("two-factor authentication is required for your role")
    user.totp_secret = None
    user.is_totp_enabled = False
    user.totp_last_step = None
    session.add(user)
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user.id))


def regenerate_recovery_codes(session: Session, user: User) -> list[str]:
    """Replaces all recovery codes; the old ones stop working."""
    if not user.is_totp_enabled:
        raise Invalid("turn on two-factor authentication first")
    return _new_recovery_codes(session, user)


def verify_second_factor(session: Session, user: User, code: str, *, now: datetime) -> None:
    """Accepts a current TOTP code (once) or an unused recovery code; raises BadCredentials."""
    if not user.is_totp_enabled or not user.totp_secret:
        return
    step = _totp_step(user.totp_secret, code, now=now, last_step=user.totp_last_step)
    if step is not None:
        # Conditional update: two requests racing with the same code cannot both pass.
        claimed = rowcount(
            session.execute(
                update(User)
                .where(
                    col(User.id) == user.id,
                    (col(User.totp_last_step).is_(None)) | (col(User.totp_last_step) < step),
                )
                .values(totp_last_step=step)
            )
        )
        if claimed:
            user.totp_last_step = step
            return
    digest = token_digest(code.strip().lower().replace(" ", ""))
    used = rowcount(
        session.execute(
            update(RecoveryCode)
            .where(
                col(RecoveryCode.user_id) == user.id,
                col(RecoveryCode.code_hash) == digest,
                col(RecoveryCode.used_at).is_(None),
            )
            .values(used_at=now)
        )
    )
    if not used:
        raise BadCredentials("wrong or already used code", field="code")


def login(
    session: Session,
    email: str,
    password: str,
    otp: str | None,
    *,
    address: str | None,
    now: datetime,
    settings: Settings,
) -> User:
    """Password and, when enabled, second factor in one step (the API's password flow)."""
    user = authenticate(session, email, password, address=address, now=now, settings=settings)
    if user.is_totp_enabled:
        if not otp:
            raise SecondFactorRequired("a one-time code is required for this account")
        check_second_factor(session, user, otp, address=address, now=now)
    clear_failures(session, user)
    return user


def check_second_factor(
    session: Session, user: User, code: str, *, address: str | None, now: datetime
) -> None:
    """verify_second_factor that counts a wrong code as a failed sign-in (flushed)."""
    try:
        verify_second_factor(session, user, code, now=now)
    except BadCredentials:
        _record_failure(session, user.email, address, now=now)
        raise


# --- site settings -------------------------------------------------------------------------


def get_site_setting(session: Session, key: str, default: str = "") -> str:
    row = session.get(SiteSetting, key)
    return row.value if row else default


def set_site_setting(session: Session, key: str, value: str) -> None:
    row = session.get(SiteSetting, key) or SiteSetting(key=key, value=value)
    row.value = value
    session.add(row)
    session.flush()


def is_mfa_required(session: Session, user: User) -> bool:
    """Whether this user's role must use a second factor (admin setting)."""
    return _mfa_required(session, user.role)


def _mfa_required(session: Session | None, role: Role) -> bool:
    if role == Role.learner:
        return False
    return get_site_setting(need(session), MFA_REQUIRED_FOR_STAFF, "false") == "true"


def needs_mfa_setup(session: Session, user: User) -> bool:
    return mfa_setup_missing(session, user.role, is_totp_enabled=user.is_totp_enabled)


def mfa_setup_missing(session: Session | None, role: Role, *, is_totp_enabled: bool) -> bool:
    """needs_mfa_setup from the two fields it reads (see SignedIn). Given no session (a fast
    read, fastread.need), it raises NeedsDatabase if it has to read the site setting."""
    return not is_totp_enabled and _mfa_required(session, role)


# --- browser sessions ----------------------------------------------------------------------


def start_web_session(
    session: Session, user: User, *, now: datetime, settings: Settings, mfa_pending: bool
) -> str:
    """A new browser session; returns the raw cookie value (only its digest is stored)."""
    assert user.id is not None  # noqa: S101
    raw = random_token(32)
    session.add(
        WebSession(
            id=token_digest(raw),
            user_id=user.id,
            is_mfa_pending=mfa_pending,
            created_at=now,
            expires_at=now + timedelta(hours=settings.session_hours),
        )
    )
    session.flush()
    return raw


def _live_session(
    digest: str | BindParameter[str], now: datetime | BindParameter[datetime]
) -> tuple[ColumnElement[bool], ...]:
    """The one definition of a usable browser session: the row exists (sign-out deletes it),
    has not expired, and its user is active."""
    return (
        col(WebSession.id) == digest,
        col(WebSession.expires_at) > now,
        col(User.is_active).is_(True),
    )


def find_web_session(
    session: Session, raw: str, *, now: datetime
) -> tuple[WebSession, User] | None:
    row = session.exec(
        select(WebSession, User)
        .join(User, col(User.id) == WebSession.user_id)
        .where(*_live_session(token_digest(raw), now))
    ).first()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True)
class SignedIn:
    """A live browser session's user as signed_in_select reads it: who, and what to check."""

    user_id: int
    role: Role
    is_mfa_pending: bool
    is_totp_enabled: bool


def signed_in_select() -> Select[int | None, Role, bool, bool]:
    """The live session's user, in the columns SignedIn holds: one indexed lookup, no entities.
    Parameters: digest and now (signed_in_params). Pages on the hot path extend it with their
    own columns, so the sign-in check and the page's reads are one statement."""
    return (
        sa_select(
            col(User.id), col(User.role), col(WebSession.is_mfa_pending), col(User.is_totp_enabled)
        )
        .join_from(WebSession, User, col(User.id) == WebSession.user_id)
        .where(*_live_session(bindparam("digest"), bindparam("now")))
    )


def signed_in_params(raw: str, *, now: datetime) -> dict[str, object]:
    return {"digest": token_digest(raw), "now": now}


def signed_in_from(row: tuple[int, Role, bool, bool, *tuple[object, ...]]) -> SignedIn:
    """The SignedIn of a row whose first columns are signed_in_select's."""
    return SignedIn(user_id=row[0], role=row[1], is_mfa_pending=row[2], is_totp_enabled=row[3])


def complete_mfa(session: Session, web_session: WebSession) -> None:
    web_session.is_mfa_pending = False
    session.add(web_session)
    session.flush()


def end_web_session(session: Session, raw: str) -> None:
    """Deletes the session row, so the cookie stops working on every app process."""
    session.execute(delete(WebSession).where(col(WebSession.id) == token_digest(raw)))


def end_all_web_sessions(session: Session, user: User) -> None:
    session.execute(delete(WebSession).where(col(WebSession.user_id) == user.id))


# --- passwords -----------------------------------------------------------------------------


def change_password(
    session: Session, user: User, current: str, new: str, *, settings: Settings
) -> None:
    """Sets a new password after checking the current one; ends other sessions."""
    if not verify_password(user.password_hash, current):
        raise BadCredentials("the current password is wrong", field="current_password")
    check_password_rules(
        new,
        email=user.email,
        full_name=user.full_name,
        settings=settings,
        has_second_factor=user.is_totp_enabled,
    )
    user.password_hash = hash_password(new)
    session.add(user)
    end_all_web_sessions(session, user)


def request_password_reset(
    session: Session, email: str, *, now: datetime, settings: Settings
) -> OutgoingMail | None:
    """A single-use reset link for a known email; None (and no hint) for an unknown one."""
    user = find_user_by_email(session, email)
    if user is None or not user.is_active:
        return None
    assert user.id is not None  # noqa: S101
    raw = random_token(32)
    session.add(
        PasswordResetToken(
            id=token_digest(raw),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.reset_token_minutes),
        )
    )
    session.flush()
    link = f"{settings.base_url.rstrip('/')}/reset/{raw}"
    body = (
        f"Hello {user.full_name},\n\n"
        f"Someone asked to reset the password of your {settings.site_name} account.\n"
        "To choose a new password, open this link within "
        f"{settings.reset_token_minutes} minutes:\n\n"
        f"{link}\n\n"
        "The link works once. If you did not ask for this, ignore this message.\n"
    )
    return OutgoingMail(
        to=user.email, subject=f"{settings.site_name}: reset your password", body=body
    )


def find_reset_token(session: Session, raw: str, *, now: datetime) -> PasswordResetToken | None:
    row = session.get(PasswordResetToken, token_digest(raw))
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    return row


def reset_password(
    session: Session, raw: str, new_password: str, *, now: datetime, settings: Settings
) -> User:
    """Uses a reset token exactly once; raises InvalidResetToken or WeakPassword."""
    row = find_reset_token(session, raw, now=now)
    if row is None:
        raise InvalidResetToken("this reset link is invalid, expired or already used")
    user = get_user(session, row.user_id)
    check_password_rules(
        new_password,
        email=user.email,
        full_name=user.full_name,
        settings=settings,
        has_second_factor=user.is_totp_enabled,
    )
    claimed = rowcount(
        session.execute(
            update(PasswordResetToken)
            .where(col(PasswordResetToken.id) == row.id, col(PasswordResetToken.used_at).is_(None))
            .values(used_at=now)
        )
    )
    if not claimed:
        raise InvalidResetToken("this reset link is invalid, expired or already used")
    user.password_hash = hash_password(new_password)
    session.add(user)
    end_all_web_sessions(session, user)
    clear_failures(session, user)  # the lock-out may be what prompted the reset
    return user


def update_profile(
    session: Session,
    user: User,
    *,
    full_name: str,
    profession: str,
    license_number: str,
    license_state: str,
) -> User:
    """Saves profile fields (already validated by the schema)."""
    user.full_name = full_name
    user.profession = profession
    user.license_number = license_number
    user.license_state = license_state
    session.add(user)
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.created_at))))


def find_user_by_uuid(session: Session, user_uuid: str) -> User | None:
    return session.exec(select(User).where(User.uuid == user_uuid)).first()
