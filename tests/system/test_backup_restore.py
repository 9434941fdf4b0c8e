"""scripts/backup.sh and scripts/restore.sh on a live database, then the restored platform works:
the learner signs in, the certificate verifies, the audit chain holds, the same key signs."""

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.certificates import service as certificates
from app.core.clock import utcnow
from app.core.db import make_engine, upgrade_to_head
from app.core.security import load_or_create_secret
from app.core.settings import Settings
from app.main import create_app
from tests.content_helpers import complete_course, import_tree
from tests.factories import api_token, make_user, web_login
from tests.system.procs import BASE_URL, ROOT, lms, remove_committed

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"
EMAIL = "backup-learner@example.org"
COURSE = "demo-course"
POSTGRES = os.getenv("LMS_TEST_POSTGRES_URL")


def _env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env["LMS_DATA_DIR"] = str(data_dir)
    env["PYTHON"] = sys.executable
    env["PATH"] = f"{env.get('PATH', '')}:/usr/lib/postgresql/15/bin"
    if database_url:
        env["LMS_DATABASE_URL"] = database_url
    return env


def _script(name: str, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603
        ["bash", str(ROOT / "scripts" / name), *args],  # noqa: S607
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{name}: {done.stdout}\n{done.stderr}"
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def restore_target(engine):
    """Where to restore: a fresh data dir, and on PostgreSQL a new database made and dropped here."""
    if not POSTGRES:
        yield None
        return
    name = f"lms_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(POSTGRES).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        remove_committed(engine, emails=[EMAIL], course_slugs=[COURSE])


def test_backup_then_restore_into_a_fresh_database_keeps_learners_certificates_and_keys(
    engine, restore_target, tmp_path
):
    source = tmp_path / "host"
    # SQLite: the default file in the data dir; PostgreSQL: the suite's database.
    settings = Settings(data_dir=source, database_url=POSTGRES, base_url=BASE_URL)
    settings.ensure_data_dir()
    live = make_engine(settings.sqlalchemy_url)
    if not POSTGRES:
        upgrade_to_head(live)
    remove_committed(live, emails=[EMAIL], course_slugs=[COURSE])
    load_or_create_secret(settings.token_secret_path)
    certificates.ensure_keys(settings)
    with Session(live, expire_on_commit=False) as session:
        course = import_tree(session, DEMO)[0]
        user = make_user(session, email=EMAIL)
        session.commit()
        complete_course(session, user, course, DEMO)
        cert, created = certificates.issue_certificate(
            session, user, course, now=utcnow(), settings=settings
        )
        session.commit()
    assert created
    signing_key = certificates.keystore(settings).current().thumbprint

    # Backed up while the database is open (on SQLite, committed pages may still be in the WAL).
    backup = Path(_script("backup.sh", str(tmp_path / "backups"), env=_env(source, POSTGRES)))
    assert (backup / ("database.pgdump" if POSTGRES else "database.sqlite3")).is_file()
    assert any((backup / "keys").glob("key-*.pem"))
    assert (backup / "token-secret.txt").is_file()

    # The host is lost: database contents, keys and secret.
    remove_committed(live, emails=[EMAIL], course_slugs=[COURSE])
    live.dispose()
    shutil.rmtree(source)

    restored = tmp_path / "restored"
    _script("restore.sh", str(backup), env=_env(restored, restore_target))
    again = Settings(data_dir=restored, database_url=restore_target, base_url=BASE_URL)
    assert certificates.keystore(again).current().thumbprint == signing_key

    app = create_app(again)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert api_token(client, EMAIL)
            web_login(client, EMAIL)
            assert client.get("/dashboard").status_code == 200
            verdict = client.post("/api/v1/verify", json={"token": cert.token}).json()
            assert verdict["valid"] is True, verdict
            assert verdict["certificate"]["code"] == cert.code
    finally:
        app.state.engine.dispose()
    checked = lms("audit", "verify", env=_env(restored, restore_target))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "chain intact" in checked.stdout
