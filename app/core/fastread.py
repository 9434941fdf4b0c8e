"""One-statement reads for the hottest page, without SQLAlchemy's per-execution machinery.

A signed-in page view reads a handful of columns. Through a Session that costs a pool checkout,
BEGIN, the statement and COMMIT, each through SQLAlchemy's execution path: several times the
database's own work and, for the module reader, more than serving the page's 43 kB. A
PreparedRead is a Core SELECT that SQLAlchemy compiles once per dialect (the SQL is what
Connection.execute would send) and whose parameters and columns go through the column types'
own processors; each call runs it on a pooled DBAPI connection in autocommit, so the one
statement is its own snapshot and needs no BEGIN or COMMIT.

On PostgreSQL an async route can instead await PreparedRead.first_on_loop: the statement goes
to a connection the event loop owns (LoopReader), and the reads of concurrent requests that
arrive while one is in flight are sent together in one pipeline: one round trip, one wake-up,
for all of them, instead of a thread hand-off and a round trip each.

SQLAlchemy's execution events do not fire for these statements.
"""

import asyncio
from collections.abc import Callable, Mapping
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from sqlalchemy import Connection, Dialect, Engine
from sqlalchemy.sql import Select
from sqlmodel import Session


class _Compiled:
    def __init__(self, stmt: Select[*tuple[Any, ...]], dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        # Literal-execute parameters (e.g. aggregate_strings' separator) are constants: render
        # them into the SQL now. Every other parameter is supplied by the caller.
        names = {
            bind.key
            for bind in compiled.binds.values()
            if bind not in compiled.literal_execute_params
        }
        state = compiled.construct_expanded_state(dict.fromkeys(names))
        self.sql: str = state.statement
        self.order: list[str] | None = (
            list(state.positiontup) if state.positiontup is not None else None
        )
        processors = {
            name: compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in state.parameters
        }
        self.binds: list[tuple[str, Callable[[Any], Any]]] = [
            (name, p) for name, p in processors.items() if p is not None
        ]
        # Values fixed in the statement (literals such as the 1 in "x + 1").
        self.constants = {
            name: compiled.binds[name].effective_value
            for name in state.parameters
            if not compiled.binds[name].required
        }
        results = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in stmt.selected_columns
        ]
        self.results: list[tuple[int, Callable[[Any], Any]]] = [
            (i, p) for i, p in enumerate(results) if p is not None
        ]

    def arguments(self, params: Mapping[str, Any]) -> Any:
        values = {**self.constants, **params}
        for name, process in self.binds:
            values[name] = process(values[name])
        return [values[n] for n in self.order] if self.order is not None else values

    def row(self, row: Any) -> tuple[Any, ...] | None:
        if row is None:
            return None
        out = list(row)
        for i, process in self.results:
            out[i] = process(out[i])
        return tuple(out)

    def run(self, dbapi_connection: Any, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(self.sql, self.arguments(params))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return self.row(row)


class PreparedRead:
    """A SELECT of one row, run with as little as possible between Python and the database."""

    def __init__(self, stmt: Select[*tuple[Any, ...]]) -> None:
        self.stmt = stmt
        self._by_dialect: dict[str, _Compiled] = {}

    def first(self, session: Session, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row (processed like Result.first()) or None. Inside the session's
        transaction if it has one, or its connection's (tests), so it sees what was written
        there; otherwise in autocommit, on the connection the session is bound to (see
        deps.run_read) or on one from the pool."""
        bind = session.get_bind()
        compiled = self._compiled(bind.dialect)
        if isinstance(bind, Engine) and not session.in_transaction():
            return _autocommit_read(bind, compiled, params)
        if (
            isinstance(bind, Connection)
            and bind.dialect.name == "sqlite"
            and not bind.in_transaction()
            and not session.in_transaction()
        ):
            # Outside BEGIN, a pysqlite connection runs each statement in autocommit.
            return compiled.run(bind.connection.dbapi_connection, params)
        return compiled.run(session.connection().connection.dbapi_connection, params)

    async def first_on_loop(
        self, engine: Engine, params: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        """first() in autocommit for an async caller on PostgreSQL, on the running event loop's
        own connection (LoopReader), batched with the reads of concurrent requests."""
        compiled = self._compiled(engine.dialect)
        reader = LoopReader.of(engine)
        return compiled.row(await reader.fetch(compiled.sql, compiled.arguments(params)))

    def _compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = self._by_dialect[dialect.name] = _Compiled(self.stmt, dialect)
        return compiled


def _autocommit_read(
    engine: Engine, compiled: _Compiled, params: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    pooled = engine.raw_connection()
    dbapi_connection: Any = pooled.dbapi_connection
    # SQLite connections already run statements outside BEGIN in autocommit (see make_engine);
    # psycopg would send BEGIN first and the pool a ROLLBACK on return: two more round trips.
    # Switching autocommit on an idle psycopg connection does not touch the server.
    toggle = engine.dialect.name == "postgresql"
    try:
        if toggle:
            dbapi_connection.autocommit = True
        try:
            return compiled.run(dbapi_connection, params)
        finally:
            if toggle:
                dbapi_connection.autocommit = False
    except engine.dialect.loaded_dbapi.Error as exc:
        if engine.dialect.is_disconnect(exc, dbapi_connection, None):
            pooled.invalidate(exc)
        raise
    finally:
        pooled.close()


class NeedsDatabase(Exception):
    """Raised by the second half of a fast read, given no session, when it needs the database
    after all (a per-process cache miss, a rule that reads a setting): the caller runs that half
    again with a session, in a thread (deps.run_prepared)."""


def need(session: Session | None) -> Session:
    """The session, or NeedsDatabase when the caller was given none."""
    if session is None:
        raise NeedsDatabase
    return session


class LoopReader:
    """One psycopg AsyncConnection per (engine, event loop), in autocommit, for one-row reads.

    fetch() queues the statement; while a batch is in flight, new reads wait for the next one,
    which is sent as one pipeline: one round trip. The batch's statements share one implicit
    transaction, but at PostgreSQL's READ COMMITTED each statement still takes its own snapshot,
    after its request arrived, so every read sees what was committed before it. The connection is
    opened on first use and dropped on any error, with every read of that batch failing with
    it; the next read opens a new one.
    """

    def __init__(self, engine: Engine) -> None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        self._connect_args: tuple[list[Any], dict[str, Any]] = (list(args), dict(kwargs))
        self._pending: list[tuple[str, Any, asyncio.Future[Any]]] = []
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self.reads = 0  # statistics: reads answered and round trips (batches) sent
        self.round_trips = 0

    @classmethod
    def of(cls, engine: Engine) -> "LoopReader":
        loop = asyncio.get_running_loop()
        per_loop = _LOOP_READERS.setdefault(engine, WeakKeyDictionary())
        reader = per_loop.get(loop)
        if reader is None:
            reader = per_loop[loop] = cls(engine)
        return reader

    @classmethod
    async def close_for(cls, engine: Engine) -> None:
        """Closes the running event loop's reader of engine, if it has one (app shutdown)."""
        per_loop = _LOOP_READERS.get(engine)
        reader = None if per_loop is None else per_loop.pop(asyncio.get_running_loop(), None)
        if reader is not None:
            await reader._drop()

    async def fetch(self, sql: str, arguments: Any) -> Any:
        """The first row of sql (a raw psycopg row) or None."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((sql, arguments, future))
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                self.round_trips += 1
                self.reads += len(batch)
                try:
                    rows = await self._run([(sql, args) for sql, args, _ in batch])
                except BaseException as exc:
                    # Also on cancellation (loop shutdown): nobody waits forever, and a
                    # connection left mid-pipeline is not used again.
                    failure = exc if isinstance(exc, Exception) else ConnectionError("read stopped")
                    if failure is not exc:  # no later batch will run: fail the waiting too
                        batch, self._pending = batch + self._pending, []
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(failure)
                    await self._drop()
                    if failure is not exc:
                        raise
                else:
                    for (*_, future), row in zip(batch, rows, strict=True):
                        if not future.done():  # its request may have been cancelled
                            future.set_result(row)
        finally:
            self._task = None

    async def _run(self, statements: list[tuple[str, Any]]) -> list[Any]:
        connection = self._connection
        if connection is None or connection.closed:
            args, kwargs = self._connect_args
            connection = await psycopg.AsyncConnection.connect(*args, autocommit=True, **kwargs)
            self._connection = connection
        if len(statements) == 1:
            cursor = await connection.execute(*statements[0])
            return [await cursor.fetchone()]
        async with connection.pipeline():
            cursors = [await connection.execute(sql, arguments) for sql, arguments in statements]
        return [await cursor.fetchone() for cursor in cursors]

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


_LOOP_READERS: WeakKeyDictionary[Engine, WeakKeyDictionary[asyncio.AbstractEventLoop, LoopReader]]
_LOOP_READERS = WeakKeyDictionary()
