"""/api/v1/auth: registration and the OAuth2 password flow."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, status

from app.accounts import service as accounts
from app.accounts.errors import BadCredentials, SecondFactorSetupRequired
from app.accounts.schemas import RegisterIn, TokenOut, UserOut
from app.core.clock import utcnow
from app.core.deps import SessionDep, SettingsDep, client_address
from app.core.security import create_access_token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED)
def register(body: RegisterIn, session: SessionDep, settings: SettingsDep) -> UserOut:
    """Create a learner account. 409 if the email exists, 422 for a refused password."""
    user = accounts.create_user(session, body, now=utcnow(), settings=settings)
    session.commit()
    return UserOut.model_validate(user, from_attributes=True)


@router.post(
    "/token",
    responses={401: {"description": "wrong credentials"}, 429: {"description": "throttled"}},
)
def token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    otp: Annotated[str | None, Form(max_length=32, description="TOTP or recovery code")] = None,
) -> TokenOut:
    """OAuth2 password flow; accounts with two-factor also send ``otp``."""
    now = utcnow()
    try:
        user = accounts.login(
            session,
            username,
            password,
            otp,
            address=client_address(request),
            now=now,
            settings=settings,
        )
    except BadCredentials:
        session.commit()  # keep the recorded failure: throttling must count it
        raise
    if accounts.needs_mfa_setup(session, user):
        raise SecondFactorSetupRequired("turn on two-factor authentication in your account first")
    session.commit()
    access = create_access_token(
        request.app.state.token_secret, user.uuid, now=now, minutes=settings.access_token_minutes
    )
    return TokenOut(access_token=access, expires_in=settings.access_token_minutes * 60)
