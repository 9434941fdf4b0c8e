"""One-statement reads for the hottest page, without SQLAlchemy's per-execution machinery.

A signed-in page view reads a handful of columns. Through a Session that costs a pool checkout,
BEGIN, the statement and COMMIT, each through SQLAlchemy's execution path: several times the
database's own work and, for the module reader, more than serving the page's 43 kB. A
PreparedRead is a Core SELECT that SQLAlchemy compiles once per dialect (the SQL is what
Connection.execute would send) and whose parameters and columns go through the column types'
own processors; each call runs it on a pooled DBAPI connection in autocommit, so the one
statement is its own snapshot and needs no BEGIN or COMMIT.

SQLAlchemy's execution events do not fire for these statements.
"""

from collections.abc import Callable, Mapping
from typing import Any

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

    def run(self, dbapi_connection: Any, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        values = {**self.constants, **params}
        for name, process in self.binds:
            values[name] = process(values[name])
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(
                self.sql, [values[n] for n in self.order] if self.order is not None else values
            )
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None:
            return None
        out = list(row)
        for i, process in self.results:
            out[i] = process(out[i])
        return tuple(out)


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
