"""Sign-up, sign-in (with second factor), sign-out, password reset and account pages."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.accounts import service as accounts
from app.accounts.errors import BadCredentials
from app.accounts.models import User, WebSession
from app.accounts.schemas import PROFESSIONS, US_STATES, ProfileIn, RegisterIn
from app.core.clock import utcnow
from app.core.deps import (
    SESSION_COOKIE,
    OptionalWebUser,
    SessionDep,
    SettingsDep,
    WebUser,
    client_address,
    find_web_session,
)
from app.core.errors import DomainError, Unauthenticated
from app.core.mail import send_mail
from app.core.settings import Settings
from app.web.templating import render

router = APIRouter()
FORM_CHOICES = {"professions": PROFESSIONS, "states": sorted(US_STATES)}


def safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would help phishing."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/dashboard"


def _set_session_cookie(response: Response, raw: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    field = str(err["loc"][0]) if err.get("loc") else ""
    return field, str(err["msg"]).removeprefix("Value error, ")


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request, user: OptionalWebUser) -> Response:
    if user is not None:
        return RedirectResponse("/dashboard", status_code=303)
    return render(request, "accounts/signup.html", form={}, errors={}, **FORM_CHOICES)


@router.post("/signup", response_class=HTMLResponse)
def signup(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    # Empty defaults: a missing field is reported next to the field by RegisterIn, not as a 422.
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    full_name: Annotated[str, Form(max_length=200)] = "",
    profession: Annotated[str, Form(max_length=100)] = "",
    license_number: Annotated[str, Form(max_length=64)] = "",
    license_state: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    form = {
        "email": email,
        "full_name": full_name,
        "profession": profession,
        "license_number": license_number,
        "license_state": license_state,
    }
    try:
        data = RegisterIn(password=password, **form)
        user = accounts.create_user(session, data, now=utcnow(), settings=settings)
    except ValidationError as exc:
        field, msg = _first_error(exc)
        return render(
            request, "accounts/signup.html", 422, form=form, errors={field: msg}, **FORM_CHOICES
        )
    except DomainError as exc:
        field = str(exc.extra.get("field", "email"))
        return render(
            request,
            "accounts/signup.html",
            exc.status_code,
            form=form,
            errors={field: exc.detail},
            **FORM_CHOICES,
        )
    raw = accounts.start_web_session(
        session, user, now=utcnow(), settings=settings, mfa_pending=False
    )
    session.commit()
    response = RedirectResponse("/dashboard", status_code=303)
    _set_session_cookie(response, raw, settings)
    return response


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, user: OptionalWebUser, next: str | None = None) -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "accounts/signin.html", next=safe_next(next), error=None, email="")


@router.post("/signin", response_class=HTMLResponse)
def signin(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=500)] = "/dashboard",
) -> Response:
    now = utcnow()
    try:
        user = accounts.authenticate(
            session, email, password, address=client_address(request), now=now, settings=settings
        )
    except BadCredentials as exc:
        session.commit()  # keep the recorded failure: throttling must count it
        return render(
            request,
            "accounts/signin.html",
            401,
            next=safe_next(next),
            error=exc.detail,
            email=email,
        )
    pending = user.is_totp_enabled
    if not pending:
        accounts.clear_failures(session, user)
    raw = accounts.start_web_session(session, user, now=now, settings=settings, mfa_pending=pending)
    session.commit()
    target = f"/signin/two-factor?next={safe_next(next)}" if pending else safe_next(next)
    response = RedirectResponse(target, status_code=303)
    _set_session_cookie(response, raw, settings)
    return response


def pending_session(request: Request, session: SessionDep) -> tuple[WebSession, User]:
    """The browser session between password and second factor (or a complete one)."""
    found = find_web_session(request, session)
    if found is None:
        raise Unauthenticated("please sign in")
    return found


PendingSession = Annotated[tuple[WebSession, User], Depends(pending_session)]


@router.get("/signin/two-factor", response_class=HTMLResponse)
def second_factor_page(
    request: Request, pending: PendingSession, next: str | None = None
) -> Response:
    web_session, _user = pending
    if not web_session.is_mfa_pending:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "accounts/signin_two_factor.html", next=safe_next(next), error=None)


@router.post("/signin/two-factor", response_class=HTMLResponse)
def second_factor(
    request: Request,
    session: SessionDep,
    pending: PendingSession,
    code: Annotated[str, Form(max_length=32)],
    next: Annotated[str, Form(max_length=500)] = "/dashboard",
) -> Response:
    web_session, user = pending
    try:
        accounts.check_second_factor(
            session, user, code, address=client_address(request), now=utcnow()
        )
    except BadCredentials as exc:
        session.commit()
        return render(
            request, "accounts/signin_two_factor.html", 401, next=safe_next(next), error=exc.detail
        )
    accounts.complete_mfa(session, web_session)
    accounts.clear_failures(session, user)
    session.commit()
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/signout")
def signout(request: Request, session: SessionDep) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        accounts.end_web_session(session, raw)
        session.commit()
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/forgot", response_class=HTMLResponse)
def forgot_page(request: Request) -> Response:
    return render(request, "accounts/forgot.html", sent=False)


@router.post("/forgot", response_class=HTMLResponse)
def forgot(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)],
) -> Response:
    mail = accounts.request_password_reset(session, email, now=utcnow(), settings=settings)
    session.commit()
    if mail is not None:
        send_mail(settings.smtp_url, settings.mail_from, mail.to, mail.subject, mail.body)
    # Same answer for known and unknown emails: the page must not reveal who has an account.
    return render(request, "accounts/forgot.html", sent=True)


@router.get("/reset/{token}", response_class=HTMLResponse)
def reset_page(request: Request, session: SessionDep, token: str) -> Response:
    valid = accounts.find_reset_token(session, token, now=utcnow()) is not None
    return render(
        request, "accounts/reset.html", 200 if valid else 400, token=token, valid=valid, error=None
    )


@router.post("/reset/{token}", response_class=HTMLResponse)
def reset(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: str,
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    try:
        accounts.reset_password(session, token, password, now=utcnow(), settings=settings)
    except DomainError as exc:
        return render(
            request,
            "accounts/reset.html",
            exc.status_code,
            token=token,
            valid=exc.extra.get("field") == "password",
            error=exc.detail,
        )
    session.commit()
    return render(request, "accounts/reset_done.html")


# --- account --------------------------------------------------------------------------------


def _account(request: Request, user: User, status: int = 200, **extra: object) -> Response:
    context: dict[str, object] = {"form": user, "errors": {}, "message": None, **FORM_CHOICES}
    context.update(extra)
    return render(request, "accounts/account.html", status, **context)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, user: WebUser) -> Response:
    return _account(request, user)


@router.post("/account/profile", response_class=HTMLResponse)
def account_profile(
    request: Request,
    session: SessionDep,
    user: WebUser,
    full_name: Annotated[str, Form(max_length=200)] = "",
    profession: Annotated[str, Form(max_length=100)] = "",
    license_number: Annotated[str, Form(max_length=64)] = "",
    license_state: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    try:
        data = ProfileIn(
            full_name=full_name,
            profession=profession,
            license_number=license_number,
            license_state=license_state,
        )
    except ValidationError as exc:
        field, msg = _first_error(exc)
        return _account(request, user, 422, errors={field: msg})
    accounts.update_profile(
        session,
        user,
        full_name=data.full_name,
        profession=data.profession,
        license_number=data.license_number,
        license_state=data.license_state,
    )
    session.commit()
    return _account(request, user, message="Profile saved.")


@router.post("/account/password", response_class=HTMLResponse)
def account_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebUser,
    current_password: Annotated[str, Form(max_length=1024)],
    new_password: Annotated[str, Form(max_length=1024)],
) -> Response:
    try:
        accounts.change_password(session, user, current_password, new_password, settings=settings)
    except DomainError as exc:
        field = str(exc.extra.get("field", "new_password"))
        if field == "password":
            field = "new_password"
        return _account(request, user, exc.status_code, errors={field: exc.detail})
    raw = accounts.start_web_session(
        session, user, now=utcnow(), settings=settings, mfa_pending=False
    )
    session.commit()
    response = _account(request, user, message="Password changed. Other sessions were signed out.")
    _set_session_cookie(response, raw, settings)
    return response


@router.get("/account/two-factor", response_class=HTMLResponse)
def two_factor_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: WebUser
) -> Response:
    import segno

    secret, uri = accounts.totp_provisioning(user, settings)
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    return render(
        request,
        "accounts/two_factor.html",
        secret=secret,
        qr=qr,
        required=accounts.is_mfa_required(session, user),
        error=None,
        codes=None,
    )


@router.post("/account/two-factor", response_class=HTMLResponse)
def two_factor_enable(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebUser,
    secret: Annotated[str, Form(min_length=16, max_length=64, pattern="^[A-Z2-7]+$")],
    code: Annotated[str, Form(max_length=32)],
) -> Response:
    import segno

    try:
        codes = accounts.enable_totp(session, user, secret, code, now=utcnow())
    except DomainError as exc:
        uri = accounts.totp_uri(user, secret, settings)
        qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
        return render(
            request,
            "accounts/two_factor.html",
            422,
            secret=secret,
            qr=qr,
            required=accounts.is_mfa_required(session, user),
            error=exc.detail,
            codes=None,
        )
    session.commit()
    return render(request, "accounts/recovery_codes.html", codes=codes)


@router.post("/account/two-factor/recovery-codes", response_class=HTMLResponse)
def two_factor_codes(request: Request, session: SessionDep, user: WebUser) -> Response:
    codes = accounts.regenerate_recovery_codes(session, user)
    session.commit()
    return render(request, "accounts/recovery_codes.html", codes=codes)


@router.post("/account/two-factor/disable", response_class=HTMLResponse)
def two_factor_disable(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebUser,
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    try:
        accounts.disable_totp(session, user, password, settings=settings)
    except DomainError as exc:
        return _account(request, user, exc.status_code, errors={"two_factor": exc.detail})
    session.commit()
    return _account(request, user, message="Two-factor authentication is off.")
