"""Real app processes and `lms` commands for the system tests, and cleanup of what they commit."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, delete, select

from app.accounts.models import LoginFailure, User
from app.certificates.models import Certificate
from app.courses.models import Course
from tests.live import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv's bin/, which holds uvicorn and lms
BASE_URL = "http://ce.test"  # what every host is told its public address is (behind one proxy)


def app_env(
    database_url: str,
    data_dir: Path,
    *,
    keys_dir: Path | None = None,
    token_secret_file: Path | None = None,
    content_dir: Path | None = None,
) -> dict[str, str]:
    """The environment of one app host: its own data dir, optionally shared secrets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env.update(
        LMS_DATABASE_URL=database_url,
        LMS_DATA_DIR=str(data_dir),
        LMS_BASE_URL=BASE_URL,
    )
    if keys_dir is not None:
        env["LMS_KEYS_DIR"] = str(keys_dir)
    if token_secret_file is not None:
        env["LMS_TOKEN_SECRET_FILE"] = str(token_secret_file)
    if content_dir is not None:
        env["LMS_CONTENT_DIR"] = str(content_dir)
    return env


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def start_server(env: dict[str, str], log: Path) -> Server:
    """`uvicorn app.asgi:app` on a free loopback port (not yet waited for)."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603
            [
                str(BIN / "uvicorn"),
                "app.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(process, f"http://127.0.0.1:{port}", log)


def wait_ready(server: Server, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"server exited with {server.process.returncode}:\n{server.output()}"
            )
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not start:\n{server.output()}")


def stop(server: Server) -> None:
    """Ends a server this test started (by its own process handle, never by name)."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


def kill(process: subprocess.Popen[bytes]) -> bool:
    """SIGKILL; True when the process was still running (so it really died mid-way)."""
    alive = process.poll() is None
    if alive:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    return alive


def lms(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [str(BIN / "lms"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def remove_committed(
    engine: Engine,
    *,
    emails: Iterable[str] = (),
    course_slugs: Iterable[str] = (),
    failure_keys: Iterable[str] = (),
) -> None:
    """Deletes what a test committed: certificates of its courses and users (they restrict
    deleting a course), the users (attempts, sessions, enrolments cascade), the courses."""
    emails, slugs, keys = list(emails), list(course_slugs), list(failure_keys)
    with Session(engine) as session:
        course_ids = list(session.exec(select(Course.id).where(col(Course.slug).in_(slugs))))
        user_ids = list(session.exec(select(User.id).where(col(User.email).in_(emails))))
        session.exec(
            delete(Certificate).where(
                col(Certificate.course_id).in_(course_ids) | col(Certificate.user_id).in_(user_ids)
            )
        )
        session.exec(delete(User).where(col(User.id).in_(user_ids)))
        session.exec(delete(Course).where(col(Course.id).in_(course_ids)))
        session.exec(
            delete(LoginFailure).where(
                col(LoginFailure.key).in_(keys + [f"account:{e}" for e in emails])
            )
        )
        session.commit()


def make_users(session: Session, emails: list[str], full_name: str = "System Test Learner") -> None:
    """Learners with tests.factories.PASSWORD; one Argon2 hash shared, as hashing is slow."""
    from tests.factories import make_user

    first = make_user(session, email=emails[0], full_name=full_name)
    for email in emails[1:]:
        session.add(
            User(
                email=email,
                full_name=full_name,
                profession=first.profession,
                license_number=first.license_number,
                license_state=first.license_state,
                role=first.role,
                password_hash=first.password_hash,
                created_at=first.created_at,
            )
        )
    session.flush()
