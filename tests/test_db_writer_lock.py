"""Writer transactions through make_engine: on SQLite, writers queue per database file (this
process's on a FifoLock, all processes' on the FileQueue next to the file), taken before BEGIN
IMMEDIATE and given back however the transaction ends; PostgreSQL is untouched."""

import itertools
import multiprocessing
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, make_url, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app.core.db import (
    FifoLock,
    FileQueue,
    WriterLock,
    make_engine,
    sqlite_url,
    writer,
    writer_lock,
)
from tests.conftest import POSTGRES_URL

THREADS = 16
PER_THREAD = 10
INSERT = text("INSERT INTO writer_probe (who) VALUES (:w)")
COUNT = text("SELECT count(*) FROM writer_probe")

sqlite_only = pytest.mark.sqlite_only  # the PostgreSQL pass deselects these


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    return tmp_path / "writers.sqlite3"


@pytest.fixture
def sqlite_engine(sqlite_file: Path) -> Iterator[Engine]:
    engine = make_engine(sqlite_url(sqlite_file), pool_size=THREADS, max_overflow=0)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE writer_probe (id INTEGER PRIMARY KEY, who TEXT NOT NULL)"
        )
    yield engine
    engine.dispose()


def short_busy_timeout(engine: Engine, ms: int = 200) -> None:
    """Runs after make_engine's own connect listener, so new connections give up quickly."""

    @event.listens_for(engine, "connect")
    def _short(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute(f"PRAGMA busy_timeout={ms}")

    engine.dispose()


def hammer(
    engine: Engine,
    check: object = None,
    *,
    via: str = "writer",
    threads: int = THREADS,
    per_thread: int = PER_THREAD,
) -> list[BaseException]:
    """``threads`` threads each commit ``per_thread`` transactions that write: writer transactions
    (BEGIN IMMEDIATE), or with via="reader" plain-BEGIN ones; returns what they raised."""
    bind = writer(engine) if via == "writer" else engine
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with Session(bind) as session:
                    session.execute(INSERT, {"w": f"{n}.{i}"})
                    if callable(check):
                        check()
                    session.commit()
        except BaseException as exc:
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in workers), "a writer never finished"
    return failures


@sqlite_only
def test_concurrent_writers_all_commit_and_hold_the_queue_while_writing(
    sqlite_engine: Engine, sqlite_file: Path
) -> None:
    queue = writer_lock(str(sqlite_file))

    def holds_the_queue() -> None:
        assert queue.lock.locked()
        assert queue.owner == threading.get_ident()

    assert hammer(sqlite_engine, holds_the_queue) == []
    with sqlite_engine.connect() as conn:
        assert conn.execute(COUNT).scalar_one() == THREADS * PER_THREAD
    assert not queue.lock.locked()


@sqlite_only
def test_plain_transactions_that_write_join_the_queue_at_their_first_write(
    sqlite_engine: Engine, sqlite_file: Path
) -> None:
    # The module reader's short write of the reading position runs on the reader engine.
    queue = writer_lock(str(sqlite_file))
    with Session(sqlite_engine) as session:
        assert session.execute(COUNT).scalar_one() == 0
        assert not queue.lock.locked()
        session.execute(INSERT, {"w": "a late writer"})
        assert queue.owner == threading.get_ident()
        session.execute(INSERT, {"w": "its second write"})
        session.commit()
    assert not queue.lock.locked()

    def holds_the_queue() -> None:
        assert queue.owner == threading.get_ident()

    assert hammer(sqlite_engine, holds_the_queue, via="reader") == []
    with sqlite_engine.connect() as conn:
        assert conn.execute(COUNT).scalar_one() == 2 + THREADS * PER_THREAD
    assert not queue.lock.locked()


@sqlite_only
def test_one_lock_per_file_however_it_is_named(sqlite_file: Path, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    other_name = tmp_path / "sub" / ".." / sqlite_file.name
    assert writer_lock(str(sqlite_file)) is writer_lock(str(other_name))
    assert writer_lock(str(sqlite_file)) is not writer_lock(str(tmp_path / "another.sqlite3"))


@sqlite_only
def test_an_exception_inside_the_transaction_gives_the_lock_back(
    sqlite_engine: Engine, sqlite_file: Path
) -> None:
    queue = writer_lock(str(sqlite_file))

    def failing_route() -> None:
        with Session(writer(sqlite_engine)) as session:
            session.execute(INSERT, {"w": "doomed"})
            assert queue.lock.locked()
            raise RuntimeError("the route failed")

    def failing_command() -> None:
        with writer(sqlite_engine).begin() as conn:
            conn.execute(INSERT, {"w": "doomed too"})
            raise RuntimeError("the command failed")

    with pytest.raises(RuntimeError):
        failing_route()
    assert not queue.lock.locked()
    with pytest.raises(RuntimeError):
        failing_command()
    assert not queue.lock.locked()
    with sqlite_engine.connect() as conn:
        assert conn.execute(COUNT).scalar_one() == 0
    assert hammer(sqlite_engine) == []  # and the queue still works


@sqlite_only
def test_a_failed_sql_statement_and_rollback_give_the_lock_back(
    sqlite_engine: Engine, sqlite_file: Path
) -> None:
    queue = writer_lock(str(sqlite_file))
    with Session(writer(sqlite_engine)) as session:
        with pytest.raises(OperationalError):
            session.execute(text("INSERT INTO no_such_table VALUES (1)"))
        session.rollback()
        assert not queue.lock.locked()
        session.execute(INSERT, {"w": "after rollback"})
        assert queue.lock.locked()
    assert not queue.lock.locked()  # closed without commit: the pool's rollback


@sqlite_only
def test_savepoints_do_not_take_the_lock_again(sqlite_engine: Engine, sqlite_file: Path) -> None:
    queue = writer_lock(str(sqlite_file))
    with Session(writer(sqlite_engine)) as session:
        session.execute(INSERT, {"w": "outer"})
        for n in range(3):
            with session.begin_nested():
                session.execute(INSERT, {"w": f"inner {n}"})
        try:
            with session.begin_nested():
                session.execute(INSERT, {"w": "rolled back"})
                raise ValueError
        except ValueError:
            pass
        assert queue.lock.locked()
        session.commit()
    assert not queue.lock.locked()
    with sqlite_engine.connect() as conn:
        assert conn.execute(COUNT).scalar_one() == 4


@sqlite_only
def test_a_failed_begin_gives_the_lock_back(sqlite_engine: Engine, sqlite_file: Path) -> None:
    # Another process holds SQLite's write lock: BEGIN IMMEDIATE times out in the busy handler.
    short_busy_timeout(sqlite_engine)
    queue = writer_lock(str(sqlite_file))
    other = sqlite3.connect(sqlite_file, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="locked"), writer(sqlite_engine).begin():
            pass
        assert not queue.lock.locked()
    finally:
        other.execute("ROLLBACK")
        other.close()
    with writer(sqlite_engine).begin() as conn:
        conn.execute(INSERT, {"w": "after the other process"})
    assert not queue.lock.locked()


@sqlite_only
def test_a_second_writer_in_the_same_thread_fails_as_before_instead_of_hanging(
    sqlite_engine: Engine, sqlite_file: Path
) -> None:
    # Waiting on our own lock would hang for the whole timeout; SQLite's short wait fails it.
    short_busy_timeout(sqlite_engine)
    queue = writer_lock(str(sqlite_file))
    with writer(sqlite_engine).begin() as first:
        first.execute(INSERT, {"w": "first"})
        with pytest.raises(OperationalError, match="locked"), writer(sqlite_engine).begin():
            pass
        assert queue.lock.locked()
    assert not queue.lock.locked()


@sqlite_only
def test_an_invalidated_connection_gives_the_lock_back(
    sqlite_engine: Engine, sqlite_file: Path
) -> None:
    queue = writer_lock(str(sqlite_file))
    conn = writer(sqlite_engine).connect()
    conn.begin()
    conn.execute(INSERT, {"w": "lost"})
    assert queue.lock.locked()
    conn.invalidate()  # the DBAPI connection is closed, its transaction with it
    assert not queue.lock.locked()
    conn.close()
    assert hammer(sqlite_engine) == []


@sqlite_only
def test_readers_do_not_take_the_lock(sqlite_engine: Engine, sqlite_file: Path) -> None:
    queue = writer_lock(str(sqlite_file))
    with writer(sqlite_engine).begin() as w:
        w.execute(INSERT, {"w": "writing"})
        with Session(sqlite_engine) as reader:  # WAL: reads beside the writer, no queue
            assert reader.execute(COUNT).scalar_one() == 0
        assert queue.owner == threading.get_ident()


@pytest.mark.postgres_only
def test_postgres_writers_are_unchanged() -> None:
    """No SQLite queue, no BEGIN IMMEDIATE: concurrent writer sessions are plain transactions."""
    assert POSTGRES_URL is not None
    engine = make_engine(POSTGRES_URL)
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS writer_probe")
            conn.exec_driver_sql("CREATE TABLE writer_probe (id serial PRIMARY KEY, who text)")
        assert not engine.dispatch.begin  # make_engine adds no transaction hooks here
        assert hammer(engine) == []
        with engine.connect() as conn:
            count = conn.execute(COUNT).scalar_one()
        assert count == THREADS * PER_THREAD
        assert not [s for s in seen if "IMMEDIATE" in s.upper()]
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS writer_probe")
        engine.dispose()


@sqlite_only
def test_the_process_queue_serves_writers_in_the_order_they_came() -> None:
    lock = FifoLock()
    assert lock.acquire(1)
    served: list[int] = []
    waiting: list[threading.Thread] = []

    def writer_thread(n: int) -> None:
        assert lock.acquire(30)
        served.append(n)
        lock.release()

    for n in range(8):
        t = threading.Thread(target=writer_thread, args=(n,))
        t.start()
        waiting.append(t)
        _wait_for(lambda n=n: len(lock._waiters) == n + 1)
    lock.release()
    for t in waiting:
        t.join(30)
    assert served == list(range(8))
    assert not lock.locked()


@sqlite_only
def test_a_writer_that_times_out_leaves_the_process_queue() -> None:
    lock = FifoLock()
    assert lock.acquire(1)
    assert lock.acquire(0.05) is False
    assert not lock._waiters
    lock.release()
    assert not lock.locked()
    with pytest.raises(RuntimeError):
        lock.release()


# --- across processes: the FileQueue ------------------------------------------------------------
# POSIX record locks belong to a process, so every party below that must wait for another is a
# process of its own (spawned: a fresh interpreter, as uvicorn's processes are).

SPAWN = multiprocessing.get_context("spawn")


def _take_and_hold(path: str, timeout: float, hold: float, log: str, name: str) -> None:
    """A writer process: queue, log when its turn starts and ends (or that it gave up)."""
    queue = FileQueue(path)
    ticket = queue.take(timeout)
    with open(log, "a") as out:
        out.write(f"{name} {'gave-up' if ticket is None else 'start'} {time.monotonic()}\n")
    if ticket is None:
        return
    time.sleep(hold)
    with open(log, "a") as out:
        out.write(f"{name} end {time.monotonic()}\n")
    queue.release(ticket)


def _take_and_wait(path: str, ready: Any) -> None:
    """Takes its turn and keeps it until killed."""
    queue = FileQueue(path)
    queue.take(30)
    ready.set()
    time.sleep(60)


def _tickets_taken(queue: FileQueue) -> int:
    # Through the queue's own descriptor: closing any other descriptor of the file would drop
    # every record lock this process holds on it (POSIX).
    assert queue.fd is not None
    return int.from_bytes(os.pread(queue.fd, 8, 0).ljust(8, b"\0"), "little")


def _wait_for(condition: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _log(path: Path) -> list[tuple[str, str, float]]:
    rows = [line.split() for line in path.read_text().splitlines()]
    return [(name, what, float(at)) for name, what, at in rows]


def _holding_the_first_turn(tmp_path: Path) -> tuple[str, Path, FileQueue, int]:
    """A fresh queue file, an empty log for the writer processes, and this process holding
    ticket 0: (path, log, this process's queue, its ticket)."""
    path, log = str(tmp_path / "db-writers"), tmp_path / "log"
    log.touch()
    mine = FileQueue(path)
    first = mine.take(5)
    assert first == 0
    return path, log, mine, first


@sqlite_only
def test_writers_of_other_processes_take_turns_in_the_order_they_arrived(tmp_path: Path) -> None:
    path, log, mine, first = _holding_the_first_turn(tmp_path)
    children = []
    for n, name in enumerate(["a", "b", "c"]):
        child = SPAWN.Process(target=_take_and_hold, args=(path, 30, 0.05, str(log), name))
        child.start()
        children.append(child)
        _wait_for(lambda n=n: _tickets_taken(mine) == n + 2)  # it has its ticket: it waits
    time.sleep(0.2)
    assert log.read_text() == ""  # nobody passed the holder
    mine.release(first)
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    events = _log(log)
    assert [(name, what) for name, what, _ in events] == [
        ("a", "start"),
        ("a", "end"),
        ("b", "start"),
        ("b", "end"),
        ("c", "start"),
        ("c", "end"),
    ]
    assert all(earlier[2] <= later[2] for earlier, later in itertools.pairwise(events))


@sqlite_only
def test_a_killed_writer_process_does_not_block_the_queue(tmp_path: Path) -> None:
    path = str(tmp_path / "db-writers")
    ready = SPAWN.Event()
    child = SPAWN.Process(target=_take_and_wait, args=(path, ready))
    child.start()
    try:
        assert ready.wait(30)
        mine = FileQueue(path)
        assert mine.take(0.2) is None  # its turn is not over: this one gives up
        child.kill()
        child.join(30)
        started = time.monotonic()
        ticket = mine.take(30)
        assert ticket is not None
        assert time.monotonic() - started < 5  # the kernel dropped the dead process's lock
        mine.release(ticket)
    finally:
        child.kill()


@sqlite_only
def test_a_writer_that_gives_up_lets_nobody_past_the_turns_still_ahead(tmp_path: Path) -> None:
    path, log, mine, first = _holding_the_first_turn(tmp_path)
    quitter = SPAWN.Process(target=_take_and_hold, args=(path, 0.3, 0, str(log), "quitter"))
    quitter.start()
    _wait_for(lambda: _tickets_taken(mine) == 2)
    patient = SPAWN.Process(target=_take_and_hold, args=(path, 30, 0, str(log), "patient"))
    patient.start()
    _wait_for(lambda: _tickets_taken(mine) == 3)
    quitter.join(30)
    time.sleep(0.3)  # the quitter's turn came after ours, and it left: the patient one waits
    assert [(n, w) for n, w, _ in _log(log)] == [("quitter", "gave-up")]
    released_at = time.monotonic()
    mine.release(first)
    patient.join(30)
    assert patient.exitcode == 0
    events = _log(log)
    assert [(n, w) for n, w, _ in events] == [
        ("quitter", "gave-up"),
        ("patient", "start"),
        ("patient", "end"),
    ]
    assert events[1][2] >= released_at


@sqlite_only
def test_without_a_usable_lock_file_writers_go_on_without_the_shared_queue(
    tmp_path: Path,
) -> None:
    queue = WriterLock(FileQueue(str(tmp_path / "no such dir" / "db-writers")))
    assert queue.files is not None
    assert queue.files.take(1) is None
    assert queue.files.broken
    assert queue.acquire()  # the process's own queue still works
    assert queue.ticket is None
    queue.release()
    assert not queue.lock.locked()


def _hammer_in_a_process(
    url: str, queue_on: bool, threads: int, per_thread: int, start: Any, out: Any
) -> None:
    """A second app process's writers on the same file, with SQLite's busy_timeout at 0: a
    writer that finds the file locked fails at once instead of polling."""
    if not queue_on:
        writer_lock(make_url(url).database or "").files = None
    engine = make_engine(url, pool_size=threads, max_overflow=0)
    short_busy_timeout(engine, 0)
    start.wait(60)  # both processes write at the same time
    failures = hammer(engine, threads=threads, per_thread=per_thread)
    engine.dispose()
    out.put([type(exc).__name__ for exc in failures])


def _two_processes_hammer(url: str, queue_on: bool) -> list[str]:
    out, start = SPAWN.Queue(), SPAWN.Barrier(2)
    procs = [
        SPAWN.Process(target=_hammer_in_a_process, args=(url, queue_on, 6, 15, start, out))
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    failures = [name for _ in procs for name in out.get(timeout=120)]
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    return failures


@sqlite_only
def test_writer_transactions_of_two_processes_queue_instead_of_meeting_a_locked_file(
    sqlite_engine: Engine, sqlite_file: Path
) -> None:
    url = sqlite_url(sqlite_file)
    assert _two_processes_hammer(url, queue_on=True) == []
    with sqlite_engine.connect() as conn:
        assert conn.execute(COUNT).scalar_one() == 2 * 6 * 15
    # The same load without the shared queue: writers of the two processes do meet the lock.
    assert _two_processes_hammer(url, queue_on=False)
