"""Engine, sessions and column types shared by every feature."""

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlmodel import Session, SQLModel, create_engine

from app.core.clock import as_utc

# Equal constraint names on SQLite and PostgreSQL, so migrations are portable.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata
WRITE_OPTION = "lms_write_transaction"
SQLITE_BUSY_TIMEOUT_S = 30


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime passed to a UTC column")
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class FileQueue:
    """Writers of every process, in the order they arrived: a ticket queue in a lock file next to
    the SQLite database (``<database>-writers``), built on POSIX record locks.

    A writer takes the next ticket t (a counter at the start of the file, read and incremented
    under a lock on its 8 bytes) and locks byte BASE + t, which it holds until its transaction
    ends. It may begin once no byte below BASE + t is locked, i.e. every earlier ticket has ended,
    which it tests with a shared lock on [BASE, BASE + t). The kernel drops a process's locks when
    it exits, so a writer killed mid-transaction never blocks the queue, and a writer that gives
    up waiting unlocks its byte without letting anyone past the tickets still ahead of it.
    SQLite's own lock still guarantees one writer at a time: the queue only orders them, so each
    waits for the writers ahead of it instead of polling in the busy handler.

    Record locks belong to the process, not the thread, so one process must have at most one
    ticket at a time: WriterLock takes its thread lock first. The wait polls without the GIL
    at intervals of at most POLL_MAX_S, so it can give up after busy_timeout (a blocking lock
    could not), and the order does not depend on who polls first."""

    BASE = 4096  # tickets' bytes start here; the counter is bytes 0-7
    POLL_MAX_S = 0.001

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None
        self.broken = False  # the lock file cannot be used (read-only directory): no queue

    def _open(self) -> int | None:
        if self.fd is None and not self.broken:
            try:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                self.broken = True
        return self.fd

    def take(self, timeout: float) -> int | None:
        """This process's ticket, once every earlier one has ended; None without a queue, after
        ``timeout``, or if the lock file fails (the caller then meets SQLite's busy_timeout as
        before: the queue never makes a write fail)."""
        fd = self._open()
        if fd is None:
            return None
        try:
            ticket = self._next_ticket(fd)
        except OSError:
            return None
        try:
            if self._wait_for_turn(fd, ticket, timeout):
                return ticket
        except OSError:
            pass
        self.release(ticket)
        return None

    def _next_ticket(self, fd: int) -> int:
        fcntl.lockf(fd, fcntl.LOCK_EX, 8, 0, os.SEEK_SET)
        try:
            ticket = int.from_bytes(os.pread(fd, 8, 0).ljust(8, b"\0"), "little")
            os.pwrite(fd, (ticket + 1).to_bytes(8, "little"), 0)
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, self.BASE + ticket, os.SEEK_SET)
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, 8, 0, os.SEEK_SET)
        return ticket

    def _wait_for_turn(self, fd: int, ticket: int, timeout: float) -> bool:
        if ticket == 0:
            return True  # a length of 0 would mean "to the end of the file"
        deadline = time.monotonic() + timeout
        pause = 0.0001
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, ticket, self.BASE, os.SEEK_SET)
            except (BlockingIOError, PermissionError):  # EAGAIN or EACCES: a ticket ahead
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, self.POLL_MAX_S)
                continue
            fcntl.lockf(fd, fcntl.LOCK_UN, ticket, self.BASE, os.SEEK_SET)
            return True

    def release(self, ticket: int) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, self.BASE + ticket, os.SEEK_SET)

    def forget_after_fork(self) -> None:
        # A child holds none of its parent's record locks (they are not inherited), so closing
        # its copy of the descriptor drops nothing; it opens its own when it first writes.
        fd, self.fd = self.fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


class FifoLock:
    """A lock that hands itself to its waiters in the order they came. threading.Lock does not:
    a thread that still has the GIL when the holder lets go takes it before the woken waiter
    runs, so under steady writes some writers waited ten times as long as the median."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Event] = deque()

    def acquire(self, timeout: float) -> bool:
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return True
        with self._guard:
            if turn.is_set():  # handed over while timing out: it is ours
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        with self._guard:
            if not self._held:
                raise RuntimeError("release of an unheld FifoLock")
            if self._waiters:
                self._waiters.popleft().set()  # still held: now by the first waiter
            else:
                self._held = False

    def locked(self) -> bool:
        return self._held


class WriterLock:
    """The queue for one SQLite file's write lock.

    SQLite lets one transaction write at a time. A connection that finds the file locked sleeps
    in the busy handler, whose sleeps grow to 100 ms, so under steady writes an unlucky writer
    polls for seconds while newer ones get in first. Writers therefore queue before BEGIN
    IMMEDIATE: those of this process on a FifoLock (they wake as soon as the holder's
    transaction ends), and the one at its head on the FileQueue that all processes share."""

    def __init__(self, files: FileQueue | None = None) -> None:
        self.lock = FifoLock()
        self.owner: int | None = None  # thread id of the acquirer, to refuse a self-deadlock
        self.files = files
        self.ticket: int | None = None

    def acquire(self) -> bool:
        """True once this thread holds the lock. False, without waiting, if this thread holds it
        already (a second writer transaction inside the first: SQLite's busy_timeout then fails
        it as before) or after busy_timeout (the caller falls back to SQLite's own wait)."""
        me = threading.get_ident()
        if self.owner == me:
            return False
        if not self.lock.acquire(SQLITE_BUSY_TIMEOUT_S):
            return False
        self.owner = me
        if self.files is not None:
            try:
                self.ticket = self.files.take(SQLITE_BUSY_TIMEOUT_S)
            except BaseException:
                self.release()
                raise
        return True

    def release(self) -> None:
        # The transaction may end on another thread (a session closed in the thread pool):
        # FifoLock, like threading.Lock and unlike RLock, may be released by any thread.
        ticket, self.ticket = self.ticket, None
        try:
            if ticket is not None and self.files is not None:
                self.files.release(ticket)
        finally:
            self.owner = None
            self.lock.release()


_WRITER_LOCKS: dict[str, WriterLock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def writer_lock(database: str) -> WriterLock:
    """The one WriterLock of this process for a database file, however it is named."""
    key = os.path.realpath(database)
    with _WRITER_LOCKS_GUARD:
        if key not in _WRITER_LOCKS:
            _WRITER_LOCKS[key] = WriterLock(FileQueue(key + "-writers"))
        return _WRITER_LOCKS[key]


def _reset_writer_locks_in_child() -> None:
    # A forked child must not inherit a lock held by a thread that does not exist in it; the
    # engines made before the fork keep their WriterLock objects, so reset those in place.
    global _WRITER_LOCKS_GUARD
    _WRITER_LOCKS_GUARD = threading.Lock()
    for queue in _WRITER_LOCKS.values():
        queue.lock, queue.owner, queue.ticket = FifoLock(), None, None
        if queue.files is not None:
            queue.files.forget_after_fork()


os.register_at_fork(after_in_child=_reset_writer_locks_in_child)


class _SQLiteConnection(sqlite3.Connection):
    """pysqlite connection that gives back the process's writer lock once the transaction that
    took it has ended, however it ends: commit, rollback (a failed request, the pool's reset on
    check-in) or close (an invalidated connection). After COMMIT, not before, so the next
    writer's BEGIN IMMEDIATE finds the file free instead of entering the busy handler."""

    writer_lock: WriterLock | None = None
    queued = False  # this transaction went through the queue already (holds it, or could not)

    def join_queue(self, queue: WriterLock) -> None:
        self.queued = True
        if queue.acquire():
            self.writer_lock = queue

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_writer_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_writer_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_writer_lock()

    def release_writer_lock(self) -> None:
        self.queued = False
        held, self.writer_lock = self.writer_lock, None
        if held is not None:
            held.release()


_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


def _writes(statement: str, context: Any) -> bool:
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        return True
    return statement.lstrip()[:7].upper().startswith(_WRITE_VERBS)


def _sqlite_file(database: str | None) -> str | None:
    """The file behind a SQLite URL's database part; None for in-memory and URI databases."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _raw(conn: Connection) -> _SQLiteConnection | None:
    dbapi_conn = conn.connection.dbapi_connection
    return dbapi_conn if isinstance(dbapi_conn, _SQLiteConnection) else None


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_TIMEOUT_S,
                "factory": _SQLiteConnection,
            },
            **kwargs,
        )
        database = _sqlite_file(engine.url.database)
        queue = writer_lock(database) if database else None

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy's documented recipe.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # Writers (see writer()) take the write lock up front with IMMEDIATE, so concurrent
            # writers queue instead of failing on a lock upgrade; readers use a plain BEGIN and
            # run in parallel under WAL. Writers of this process queue on its WriterLock first.
            # Savepoints (begin_nested) do not fire "begin", so nothing is taken twice.
            if not conn.get_execution_options().get(WRITE_OPTION):
                conn.exec_driver_sql("BEGIN")
                return
            raw = _raw(conn)
            if queue is not None and raw is not None and not raw.queued:  # never twice
                raw.join_queue(queue)
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                # No transaction to end: nothing else would give the lock back.
                if raw is not None:
                    raw.release_writer_lock()
                raise

        if queue is not None:

            @event.listens_for(engine, "before_cursor_execute")
            def _on_write(
                conn: Connection, _cur: Any, statement: str, _params: Any, context: Any, _many: bool
            ) -> None:
                # A transaction begun with a plain BEGIN that writes after all (a GET's short
                # write of the reading position, a migration) joins the queue at its first
                # write, before SQLite's lock, like the writers above.
                raw = _raw(conn)
                if raw is not None and not raw.queued and _writes(statement, context):
                    raw.join_queue(queue)

        return engine
    # pool_recycle instead of pool_pre_ping: no extra round trip on every checkout.
    return create_engine(url, pool_recycle=1800, pool_size=20, max_overflow=10, **kwargs)


def writer(engine: Engine) -> Engine:
    """The same engine (and pool) marked for write transactions (IMMEDIATE on SQLite)."""
    return engine.execution_options(**{WRITE_OPTION: True})


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def upgrade_to_head(engine: Engine) -> None:
    """Apply every Alembic migration to the database behind ``engine``."""
    from alembic.config import Config

    from alembic import command

    root = Path(__file__).resolve().parents[2]
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "alembic"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


# Integer primary keys are 32-bit on PostgreSQL (64-bit on SQLite): an id from a URL or a body
# outside this range names no row, and must not reach the driver (which would raise).
MAX_ROW_ID = 2**31 - 1


def is_row_id(value: int) -> bool:
    return 1 <= value <= MAX_ROW_ID


def rowcount(result: Any) -> int:
    """Rows an UPDATE/DELETE matched (typed access to CursorResult.rowcount)."""
    return int(result.rowcount)
