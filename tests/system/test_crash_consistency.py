"""SIGKILL in the middle of an import or of quiz submissions leaves the database consistent."""

import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.core.clock import utcnow
from app.core.security import create_access_token, load_or_create_secret
from app.courses import service as courses
from app.courses.models import Course, Module, ModuleVersion
from app.quizzes import grading
from app.quizzes import service as quizzes
from app.quizzes.models import QuizAttempt, QuizBank, QuizVersion
from tests.content_helpers import answer_key, correct_answers, import_tree
from tests.system.generated_content import write_tree
from tests.system.procs import (
    BIN,
    ROOT,
    app_env,
    kill,
    lms,
    make_users,
    remove_committed,
    start_server,
    stop,
    wait_ready,
)

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"
CRASH_COURSE = "crash-course"
MODULES_A, MODULES_B = 40, 48  # enough that the import's transaction lasts a while
APP_NAME = "lms-crash-import"  # PGAPPNAME of the import under test, to spot its transaction


# --- (a) `lms content import` killed mid-way ----------------------------------------------


def _snapshot(engine, slug: str) -> tuple | None:
    """What the database holds of one course; None when it has no such course."""
    with Session(engine) as session:
        course = session.exec(select(Course).where(Course.slug == slug)).first()
        if course is None:
            return None
        modules = session.exec(select(Module).where(Module.course_id == course.id)).all()
        module_versions = session.exec(
            select(ModuleVersion.id).join(Module).where(Module.course_id == course.id)
        ).all()
        banks = session.exec(select(QuizBank).where(QuizBank.course_id == course.id)).all()
        quiz_versions = session.exec(
            select(QuizVersion.id).join(QuizBank).where(QuizBank.course_id == course.id)
        ).all()
        # Every module and quiz bank points at a version that exists: nothing half-made.
        assert {m.current_version_id for m in modules} <= set(module_versions)
        assert {b.current_version_id for b in banks} <= set(quiz_versions)
        return (
            course.content_hash,
            course.version,
            sum(m.is_active for m in modules),
            len(module_versions),
            len(banks),
            len(quiz_versions),
        )


def _in_write_transaction(engine, database_url: str) -> bool:
    """Whether the import under test holds an open write transaction right now."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        probe = sqlite3.connect(url.database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:  # "database is locked": the importer writes
            return True
        finally:
            probe.close()
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
                    "AND backend_xid IS NOT NULL"
                ),
                {"name": APP_NAME},
            ).scalar()
        )


def _killed_import(engine, database_url, env, tree: Path, *, delay: float, wait_for_txn: bool):
    """Starts `lms content import` and SIGKILLs it ``delay`` seconds after its write
    transaction began (or after it started); True when it was killed while still running."""
    process = subprocess.Popen(  # noqa: S603
        [str(BIN / "lms"), "content", "import", str(tree)],
        cwd=ROOT,
        env={**env, "PGAPPNAME": APP_NAME},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while wait_for_txn and process.poll() is None and time.monotonic() < deadline:
        if _in_write_transaction(engine, database_url):
            break
        time.sleep(0.005)
    time.sleep(delay)
    return kill(process)


@pytest.fixture
def crash_course(engine):
    remove_committed(engine, course_slugs=[CRASH_COURSE])
    yield
    remove_committed(engine, course_slugs=[CRASH_COURSE])


def test_killed_import_leaves_the_old_or_the_new_course_never_half(
    crash_course, engine, database_url, tmp_path
):
    env = app_env(database_url, tmp_path / "data")
    tree_a = write_tree(tmp_path / "a", CRASH_COURSE, MODULES_A)
    tree_b = write_tree(tmp_path / "b", CRASH_COURSE, MODULES_B, tag=" (revised)")

    seen_a, mid_transaction = [], 0
    for delay in (0.0,):
        alive = _killed_import(engine, database_url, env, tree_a, delay=delay, wait_for_txn=True)
        seen_a.append(_snapshot(engine, CRASH_COURSE))
        mid_transaction += alive and seen_a[-1] is None
    done = lms("content", "import", str(tree_a), env=env)
    assert done.returncode == 0, done.stderr
    state_a = _snapshot(engine, CRASH_COURSE)
    assert state_a is not None
    # (hash, version, active modules, module versions, quiz banks, quiz versions)
    assert state_a[1:] == (1, MODULES_A, MODULES_A, MODULES_A + 1, MODULES_A + 1)
    assert set(seen_a) <= {None, state_a}, seen_a

    seen_b = []
    for delay, wait in ((0.8, False), (0.0, True), (0.3, True)):
        alive = _killed_import(engine, database_url, env, tree_b, delay=delay, wait_for_txn=wait)
        seen_b.append(_snapshot(engine, CRASH_COURSE))
        mid_transaction += alive and seen_b[-1] == state_a
    done = lms("content", "import", str(tree_b), env=env)
    assert done.returncode == 0, done.stderr
    state_b = _snapshot(engine, CRASH_COURSE)
    assert state_b is not None and state_b != state_a
    # Every module and quiz changed (the final exam did not): one new version of each.
    assert state_b[1:] == (
        2,
        MODULES_B,
        MODULES_A + MODULES_B,
        MODULES_B + 1,
        MODULES_A + MODULES_B + 1,
    )
    assert set(seen_b) <= {state_a, state_b}, seen_b
    assert mid_transaction >= 2, "no kill landed inside the import's transaction"

    # Importing the same files again finds nothing to change.
    again = lms("content", "import", str(tree_b), env=env)
    assert again.returncode == 0, again.stderr
    assert "1 unchanged" in again.stdout
    assert _snapshot(engine, CRASH_COURSE) == state_b


# --- (b) the server killed during many concurrent submissions -------------------------------

LEARNERS = [f"crash-learner{n}@example.org" for n in range(40)]
KILL_AFTER = 8  # responses received before the server is killed
PARALLEL = 16


@pytest.fixture
def open_attempts(engine):
    remove_committed(engine, emails=LEARNERS, course_slugs=["demo-course"])
    with Session(engine, expire_on_commit=False) as session:
        course = import_tree(session, DEMO)[0]
        make_users(session, LEARNERS)
        users = session.exec(select(User).where(col(User.email).in_(LEARNERS))).all()
        now = utcnow()
        attempts = []
        for user in users:
            courses.enroll(session, user, course, now=now)
            attempt = quizzes.start_attempt(session, user, course, "intro", now=now).attempt
            attempts.append((user, attempt))
        session.commit()
    try:
        yield attempts
    finally:
        remove_committed(engine, emails=LEARNERS, course_slugs=[course.slug])


def _attempt_rows(engine, ids: list[str]) -> dict[str, QuizAttempt]:
    with Session(engine) as session:
        rows = session.exec(select(QuizAttempt).where(col(QuizAttempt.public_id).in_(ids))).all()
        return {row.public_id: row for row in rows}


def _grade_entries(engine, ids: list[str]) -> list[str]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(AuditEntry.subject).where(
                    AuditEntry.action == "attempt.grade", col(AuditEntry.subject).in_(ids)
                )
            )
        )


def test_server_killed_mid_submissions_leaves_each_attempt_graded_or_untouched(
    open_attempts, engine, database_url, tmp_path
):
    secret_file = tmp_path / "token-secret.txt"
    secret = load_or_create_secret(secret_file)
    content = tmp_path / "content"
    content.mkdir()
    env = app_env(
        database_url, tmp_path / "data", token_secret_file=secret_file, content_dir=content
    )
    key = answer_key(DEMO, "demo-course", "intro")
    work = []
    for user, attempt in open_attempts:
        token = create_access_token(secret, user.uuid, now=utcnow(), minutes=15)
        answers = correct_answers(grading.public_questions(attempt.snapshot), key)
        work.append((attempt.public_id, {"Authorization": f"Bearer {token}"}, answers))
    ids = [public_id for public_id, _, _ in work]

    server = start_server(env, tmp_path / "server.log")
    wait_ready(server)
    answered: dict[str, int] = {}
    lock = threading.Lock()

    def submit(item):
        public_id, headers, answers = item
        try:
            r = httpx.post(
                f"{server.url}/api/v1/attempts/{public_id}/submission",
                json={"answers": answers},
                headers=headers,
                timeout=30,
            )
        except httpx.TransportError:
            return
        with lock:
            answered[public_id] = r.status_code
            if len(answered) == KILL_AFTER:
                kill(server.process)

    try:
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            list(pool.map(submit, work))
    finally:
        stop(server)

    rows = _attempt_rows(engine, ids)
    graded, untouched = set(), set()
    for public_id, row in rows.items():
        fields = (row.submitted_at, row.score, row.is_passed, row.answers, row.results)
        if all(f is not None for f in fields):
            graded.add(public_id)
        elif all(f is None for f in fields):
            untouched.add(public_id)
        else:
            pytest.fail(f"attempt {public_id} is half graded: {fields}")
    assert graded | untouched == set(ids)
    # What the server confirmed before it died is durable; the kill did land mid-way.
    assert {i for i, code in answered.items() if code == 200} <= graded
    assert set(answered.values()) <= {200}, answered
    assert len(graded) >= KILL_AFTER and untouched, (len(graded), len(untouched))
    # Grading and its audit entry are one transaction: one entry per graded attempt, no more.
    entries = _grade_entries(engine, ids)
    assert sorted(entries) == sorted(graded)
    verified = lms("audit", "verify", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # After a restart, the untouched attempts can be submitted and the graded ones cannot.
    server = start_server(env, tmp_path / "server2.log")
    try:
        wait_ready(server)
        for public_id, headers, answers in work:
            r = httpx.post(
                f"{server.url}/api/v1/attempts/{public_id}/submission",
                json={"answers": answers},
                headers=headers,
                timeout=30,
            )
            assert r.status_code == (409 if public_id in graded else 200), (public_id, r.text)
    finally:
        stop(server)
    rows = _attempt_rows(engine, ids)
    assert all(row.is_passed is True and row.results for row in rows.values())
    assert len(_grade_entries(engine, ids)) == len(ids)
    with Session(engine) as session:
        assert audit.verify_chain(session).ok
