"""Request dependencies: settings, database session, who is calling, and role checks."""

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Annotated, Any, TypeVar
from weakref import WeakKeyDictionary

from anyio import CancelScope, CapacityLimiter, to_thread
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.errors import SecondFactorSetupRequired
from app.accounts.models import Role, User, WebSession
from app.core.clock import utcnow
from app.core.errors import DomainError, Forbidden, Unauthenticated
from app.core.fastread import NeedsDatabase, PreparedRead
from app.core.security import decode_access_token
from app.core.settings import Settings

SESSION_COOKIE = "lms_session"
T = TypeVar("T")
CSRF_COOKIE = "lms_csrf"


async def get_settings(request: Request) -> Settings:
    # async (no I/O): a sync dependency would cost a thread-pool hop.
    settings: Settings = request.app.state.settings
    return settings


def _engine_for(request: Request) -> Engine:
    # Requests that may write get the writer engine (SQLite: BEGIN IMMEDIATE); reads run in
    # parallel.
    state = request.app.state
    engine: Engine = state.engine if request.method in ("GET", "HEAD") else state.write_engine
    return engine


async def get_session(request: Request) -> AsyncIterator[Session]:
    # expire_on_commit=False keeps objects readable after the route's commit.
    session = Session(_engine_for(request), expire_on_commit=False)
    try:
        yield session
    finally:
        await _close(session)


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    """For routes that only read, whatever their method (e.g. POST /verify): on SQLite they
    then run beside writers instead of queueing for the write lock."""
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        await _close(session)


class LazySession:
    """A database session opened only if the route needs one, for the hottest async route (the
    module reader, whose usual view reads through one prepared statement and needs no Session).
    A yield dependency such as SessionDep costs about 0.1 ms of FastAPI's exit-stack work per
    request, a fifth of a bare request; this one is a plain async dependency, and the route
    closes it (close() in a finally). Tests hand in their own session (bound_to), which close()
    leaves alone."""

    def __init__(self, engine: Engine, session: Session | None = None) -> None:
        self.engine = engine
        self._session = session
        self._owned = session is None

    @classmethod
    def bound_to(cls, session: Session) -> "LazySession":
        bind = session.get_bind()
        return cls(bind if isinstance(bind, Engine) else bind.engine, session)

    @property
    def is_open(self) -> bool:
        return self._session is not None

    def get(self) -> Session:
        if self._session is None:
            self._session = Session(self.engine, expire_on_commit=False)
        return self._session

    async def close(self) -> None:
        if self._owned and self._session is not None:
            session, self._session = self._session, None
            await _close(session)


async def get_lazy_session(request: Request) -> LazySession:
    return LazySession(_engine_for(request))


async def _close(session: Session) -> None:
    # The session dependencies are async, so FastAPI does not hop to the thread pool to open
    # and again to close them (a sync generator dependency costs two hops per request).
    # Opening does no I/O; closing does only when the route left a transaction open (a
    # rollback), and then runs in a thread, shielded and outside the pool's capacity limit,
    # like FastAPI's own exit of sync dependencies.
    if session.in_transaction():
        with CancelScope(shield=True):
            await to_thread.run_sync(session.close, limiter=CapacityLimiter(1))
    else:
        session.close()


async def run_read(session: Session, read: Callable[[Session], T]) -> T:
    """Runs read(session), a short read-only function, for an async route.

    PostgreSQL: in the thread pool (a network round trip must not block the event loop).
    SQLite: inline on the event loop. Its reads are in-process, take tens of microseconds and
    under WAL never wait for a writer, so the thread-pool hop (and the GIL hand-offs around it)
    would cost more than the reads. Inline reads use a connection of the event loop's own,
    outside any transaction (each statement in autocommit; the ORM, if read needs it, in one
    transaction ended here): a checkout from the shared pool could wait for connections that
    only the event loop can give back. Tests bind the session to their connection: used as is.
    """
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return await to_thread.run_sync(_read_and_end, session, read)
    if isinstance(bind, Connection):
        return _read_and_end(session, read)
    connection = _loop_connection(bind)
    try:
        with Session(bind=connection, expire_on_commit=False) as loop_session:
            return _read_and_end(loop_session, read)
    except DomainError:
        raise
    except Exception:
        _LOOP_CONNECTIONS.pop(bind, None)  # a fresh connection next time
        connection.invalidate()
        connection.close()
        raise


async def run_prepared(
    db: LazySession,
    read: tuple[PreparedRead, Mapping[str, Any]] | None,
    finish: Callable[[Session | None, tuple[Any, ...] | None], T],
) -> T:
    """A hot page's read: one prepared statement (None: no statement, no row), then
    finish(session, row), which works from per-process caches.

    PostgreSQL: the statement on the event loop's own connection, batched with concurrent
    requests' reads (PreparedRead.first_on_loop), then finish(None, row) inline, with no Session
    opened; if finish needs the database after all (fastread.NeedsDatabase: a cache miss, an
    error page), it runs again in the thread pool with a session and the same row. SQLite and
    tests' bound sessions: both halves through run_read."""
    if not db.is_open and db.engine.dialect.name == "postgresql":
        row = None if read is None else await read[0].first_on_loop(db.engine, read[1])
        try:
            return finish(None, row)
        except NeedsDatabase:
            return await to_thread.run_sync(_read_and_end, db.get(), lambda s: finish(s, row))

    def both(session: Session) -> T:
        return finish(session, None if read is None else read[0].first(session, read[1]))

    return await run_read(db.get(), both)


def _read_and_end(session: Session, read: Callable[[Session], T]) -> T:
    result = read(session)
    if session.in_transaction():  # only if read needed the ORM; ended here, not at close
        session.commit()
    return result


_LOOP_CONNECTIONS: WeakKeyDictionary[Engine, Connection] = WeakKeyDictionary()


def _loop_connection(engine: Engine) -> Connection:
    # Checked out once and kept: only the event loop thread uses it, one read at a time.
    connection = _LOOP_CONNECTIONS.get(engine)
    if connection is None or connection.closed or connection.invalidated:
        connection = _LOOP_CONNECTIONS[engine] = engine.connect()
    return connection


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
ReadSessionDep = Annotated[Session, Depends(get_read_session)]
LazySessionDep = Annotated[LazySession, Depends(get_lazy_session)]

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
    _require_second_factor_setup(request, session, user.role, user.is_totp_enabled)
    return user


def session_token(request: Request) -> str | None:
    """The browser session cookie, for pages that read the session with their own statement."""
    return request.cookies.get(SESSION_COOKIE)


def admit_reader(
    request: Request, session: Session | None, found: accounts.SignedIn | None
) -> accounts.SignedIn:
    """web_user's rules for a page on the hot path that reads the session in its own statement
    (accounts.signed_in_select, e.g. courses.open_module), so the check and the page's reads
    are one round trip and no entities are loaded. The session row is read on every request
    (never cached), so sign-out and expiry apply to the next request in every process. Same
    exceptions as web_user."""
    if found is None or found.is_mfa_pending:
        raise Unauthenticated("please sign in")
    _require_second_factor_setup(request, session, found.role, found.is_totp_enabled)
    return found


def _require_second_factor_setup(
    request: Request, session: Session | None, role: Role, is_totp_enabled: bool
) -> None:
    if accounts.mfa_setup_missing(
        session, role, is_totp_enabled=is_totp_enabled
    ) and not request.url.path.startswith(("/account", "/signout")):
        raise SecondFactorSetupRequired(
            "your role requires two-factor authentication: turn it on to continue",
            redirect="/account/two-factor",
        )


def require_role(base: Callable[..., User], *roles: Role) -> Callable[[User], Awaitable[User]]:
    async def check(user: Annotated[User, Depends(base)]) -> User:  # no I/O: no thread hop
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
