"""Request dependencies: settings, database session, who is calling, and role checks."""

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.errors import SecondFactorSetupRequired
from app.accounts.models import Role, User, WebSession
from app.core.clock import utcnow
from app.core.errors import Forbidden, Unauthenticated
from app.core.security import decode_access_token
from app.core.settings import Settings

SESSION_COOKIE = "lms_session"
CSRF_COOKIE = "lms_csrf"


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    # expire_on_commit=False keeps objects readable after the route's commit. Requests that
    # may write get the writer engine (SQLite: BEGIN IMMEDIATE); reads run in parallel.
    engine = request.app.state.engine
    if request.method not in ("GET", "HEAD"):
        engine = request.app.state.write_engine
    with Session(engine, expire_on_commit=False) as session:
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    """For routes that only read, whatever their method (e.g. POST /verify): on SQLite they
    then run beside writers instead of queueing for the write lock."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
ReadSessionDep = Annotated[Session, Depends(get_read_session)]

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def api_user(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(_bearer)]
) -> User:
    """The caller of an API route, from its bearer token (the API takes no cookies)."""
    if not token:
        raise Unauthenticated("missing bearer token")
    claims = decode_access_token(request.app.state.token_secret, token)
    user = accounts.find_user_by_uuid(session, claims["sub"])
    if user is None or not user.is_active:
        raise Unauthenticated("invalid or expired access token")
    if accounts.needs_mfa_setup(session, user):
        raise SecondFactorSetupRequired("turn on two-factor authentication in your account first")
    return user


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def find_web_session(request: Request, session: Session) -> tuple[WebSession, User] | None:
    """The signed-in browser session, cached on the request."""
    if not hasattr(request.state, "web_session"):
        raw = request.cookies.get(SESSION_COOKIE)
        found = accounts.find_web_session(session, raw, now=utcnow()) if raw else None
        request.state.web_session = found
    result: tuple[WebSession, User] | None = request.state.web_session
    return result


def optional_web_user(request: Request, session: SessionDep) -> User | None:
    found = find_web_session(request, session)
    if found is None or found[0].is_mfa_pending:
        return None
    return found[1]


def web_user(request: Request, session: SessionDep) -> User:
    """The signed-in user of a page; Unauthenticated sends the browser to sign in."""
    user = optional_web_user(request, session)
    if user is None:
        raise Unauthenticated("please sign in")
    if accounts.needs_mfa_setup(session, user) and not request.url.path.startswith(
        ("/account", "/signout")
    ):
        raise SecondFactorSetupRequired(
            "your role requires two-factor authentication: turn it on to continue",
            redirect="/account/two-factor",
        )
    return user


def require_role(base: Callable[..., User], *roles: Role) -> Callable[[User], User]:
    def check(user: Annotated[User, Depends(base)]) -> User:
        if user.role not in roles:
            raise Forbidden("this needs one of the roles: " + ", ".join(r.value for r in roles))
        return user

    return check


ApiUser = Annotated[User, Depends(api_user)]
ApiStaff = Annotated[User, Depends(require_role(api_user, Role.instructor, Role.admin))]
ApiAdmin = Annotated[User, Depends(require_role(api_user, Role.admin))]
WebUser = Annotated[User, Depends(web_user)]
OptionalWebUser = Annotated[User | None, Depends(optional_web_user)]
WebStaff = Annotated[User, Depends(require_role(web_user, Role.instructor, Role.admin))]
WebAdmin = Annotated[User, Depends(require_role(web_user, Role.admin))]
