"""PreparedRead and run_read on a real engine (the production paths; tests' sessions are bound
to one connection in a transaction, which takes the other branch)."""

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import Boolean, Enum, Integer, bindparam, create_engine
from sqlalchemy import select as sa_select
from sqlmodel import Session

from app.accounts.models import Role
from app.core import deps
from app.core.db import UTCDateTime, make_engine
from app.core.errors import NotFound
from app.core.fastread import PreparedRead

WHEN = datetime(2026, 11, 23, 12, 30, 45, 123456, tzinfo=UTC)
ECHO = PreparedRead(
    sa_select(
        bindparam("when", type_=UTCDateTime()).label("when"),
        bindparam("flag", type_=Boolean()).label("flag"),
        bindparam("role", type_=Enum(Role, native_enum=False, length=20)).label("role"),
        (bindparam("n", type_=Integer()) + 1).label("n"),
    )
)
PARAMS = {"when": WHEN, "flag": True, "role": Role.admin, "n": 41}


@pytest.fixture
def small_engine(database_url):
    if database_url.startswith("sqlite"):
        engine = make_engine(database_url, pool_size=1, max_overflow=0)
    else:  # make_engine sets PostgreSQL's pool size itself
        engine = create_engine(database_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _idle(engine) -> None:
    """The pool's only connection is back, outside any transaction, in its usual mode."""
    raw = engine.raw_connection()
    try:
        dbapi = raw.dbapi_connection
        if engine.dialect.name == "sqlite":
            assert not dbapi.in_transaction
        else:
            assert dbapi.autocommit is False
            assert dbapi.info.transaction_status == 0  # IDLE
    finally:
        raw.close()


def test_values_go_through_the_column_types_both_ways(small_engine):
    with Session(small_engine) as session:
        assert ECHO.first(session, PARAMS) == (WHEN, True, Role.admin, 42)
        assert not session.in_transaction()  # no BEGIN for a one-statement read
    _idle(small_engine)


def test_inside_a_transaction_it_reads_in_that_transaction(small_engine, session):
    with Session(small_engine) as own:
        own.connection()
        assert ECHO.first(own, PARAMS) == (WHEN, True, Role.admin, 42)
        assert own.in_transaction()
    assert ECHO.first(session, PARAMS)[3] == 42  # the test fixture's bound session


def test_run_read_ends_what_it_began_and_keeps_its_connection_on_domain_errors(small_engine):
    with Session(small_engine) as session:

        def read(db: Session) -> tuple[object, ...] | None:
            db.connection()  # as an ORM read on a cache miss would
            return ECHO.first(db, PARAMS)

        assert asyncio.run(deps.run_read(session, read)) == (WHEN, True, Role.admin, 42)
        assert not session.in_transaction()

        def refused(db: Session) -> None:
            raise NotFound("no such thing")

        with pytest.raises(NotFound):
            asyncio.run(deps.run_read(session, refused))
    if small_engine.dialect.name == "sqlite":
        loop_connection = deps._LOOP_CONNECTIONS[small_engine]
        assert not loop_connection.in_transaction() and not loop_connection.invalidated
    else:
        _idle(small_engine)
