"""PreparedRead and run_read on a real engine (the production paths; tests' sessions are bound
to one connection in a transaction, which takes the other branch)."""

import asyncio
from datetime import UTC, datetime

import pytest
from psycopg.errors import DivisionByZero
from sqlalchemy import Boolean, Enum, Integer, bindparam, column, create_engine, func, table
from sqlalchemy import select as sa_select
from sqlmodel import Session

from app.accounts.models import Role
from app.core import deps
from app.core.db import UTCDateTime, make_engine
from app.core.errors import NotFound
from app.core.fastread import LoopReader, PreparedRead

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


DIVIDE = PreparedRead(  # 100 mod n: an error for n = 0
    sa_select(func.mod(100, bindparam("n", type_=Integer()), type_=Integer()).label("q"))
)


@pytest.mark.postgres_only
def test_concurrent_reads_on_the_loop_share_round_trips_and_each_gets_its_own_row(small_engine):
    async def main() -> tuple[list[object], LoopReader]:
        reads = [ECHO.first_on_loop(small_engine, {**PARAMS, "n": n}) for n in range(40)]
        rows = await asyncio.gather(*reads)
        reader = LoopReader.of(small_engine)
        await reader._drop()
        return rows, reader

    rows, reader = asyncio.run(main())
    assert rows == [(WHEN, True, Role.admin, n + 1) for n in range(40)]
    assert reader.reads == 40
    assert reader.round_trips < 40  # the reads that arrived together went together


@pytest.mark.postgres_only
def test_a_failed_read_drops_the_connection_and_the_next_batch_gets_a_new_one(small_engine):
    async def main() -> None:
        good = asyncio.ensure_future(ECHO.first_on_loop(small_engine, PARAMS))
        await good  # the connection is open
        reader = LoopReader.of(small_engine)
        first_connection = reader._connection
        with pytest.raises(DivisionByZero):
            await DIVIDE.first_on_loop(small_engine, {"n": 0})
        assert reader._connection is None  # dropped with its batch
        assert await DIVIDE.first_on_loop(small_engine, {"n": 7}) == (2,)
        assert reader._connection is not first_connection

        # A read whose request is cancelled does not disturb the others in its batch.
        doomed = asyncio.ensure_future(ECHO.first_on_loop(small_engine, PARAMS))
        kept = asyncio.ensure_future(ECHO.first_on_loop(small_engine, {**PARAMS, "n": 1}))
        await asyncio.sleep(0)
        doomed.cancel()
        assert (await kept)[3] == 2
        assert doomed.cancelled()
        await reader._drop()

    asyncio.run(main())


@pytest.mark.postgres_only
def test_a_loop_read_sees_what_other_connections_committed_before_it(small_engine):
    probe = table("fastread_probe", column("x", Integer()))
    count = PreparedRead(
        sa_select(func.count())
        .select_from(probe)
        .where(probe.c.x > bindparam("x", type_=Integer()))
    )
    with small_engine.begin() as setup:
        setup.exec_driver_sql("DROP TABLE IF EXISTS fastread_probe")
        setup.exec_driver_sql("CREATE TABLE fastread_probe (x int)")

    async def main() -> list[object]:
        seen = [await count.first_on_loop(small_engine, {"x": 0})]
        for value in (1, 2):
            with small_engine.begin() as other:  # another connection, committed
                other.exec_driver_sql("INSERT INTO fastread_probe VALUES (%(v)s)", {"v": value})
            seen.append(await count.first_on_loop(small_engine, {"x": 0}))
        await LoopReader.of(small_engine)._drop()
        return seen

    try:
        assert asyncio.run(main()) == [(0,), (1,), (2,)]  # no snapshot kept between reads
    finally:
        with small_engine.begin() as cleanup:
            cleanup.exec_driver_sql("DROP TABLE fastread_probe")
