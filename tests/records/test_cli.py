"""`lms reminders send` and `lms records purge` against the real database. The CLI opens its
own connections, so this test commits its data and deletes it afterwards."""

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, delete, select
from typer.testing import CliRunner

from app.accounts.models import LoginFailure, User
from app.certificates.models import Certificate
from app.cli.main import app as cli
from app.core.clock import utcnow
from app.core.settings import Settings, get_settings
from app.courses.models import Course
from app.records import service as records
from tests.factories import PASSWORD, make_user
from tests.records.helpers import certify, demo_course

EMAIL = "records-cli-{n}@example.org"


@pytest.fixture
def env(tmp_path, database_url, monkeypatch, smtp) -> Iterator[Settings]:
    _inbox, url = smtp
    monkeypatch.setenv("LMS_DATABASE_URL", database_url)
    monkeypatch.setenv("LMS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LMS_BASE_URL", "http://testserver")
    monkeypatch.setenv("LMS_SMTP_URL", url)
    monkeypatch.setenv("LMS_EXPIRY_REMINDER_DAYS", "20")
    get_settings.cache_clear()
    yield Settings(data_dir=tmp_path, database_url=database_url, base_url="http://testserver")
    get_settings.cache_clear()


@pytest.fixture
def committed(engine, env) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        existed = session.exec(select(Course.id).where(Course.slug == "demo-course")).first()
        try:
            yield session
        finally:
            session.rollback()
            names = ["Cli Learner", "Cli Leaver", "Cli Racer"]
            users = select(User.id).where(col(User.full_name).in_(names))
            users = users.union(
                select(User.id).where(col(User.email).like("deleted-%@invalid.example"))
            )
            session.exec(delete(Certificate).where(col(Certificate.user_id).in_(users)))
            session.exec(delete(User).where(col(User.id).in_(users)))
            session.exec(delete(LoginFailure).where(col(LoginFailure.key).like("%records-cli-%")))
            if existed is None:
                session.exec(delete(Course).where(Course.slug == "demo-course"))
            session.commit()


def test_reminders_send_mails_due_certificates_once(committed, env, smtp):
    inbox, _url = smtp
    course = demo_course(committed)
    learner = make_user(committed, email=EMAIL.format(n=1), full_name="Cli Learner")
    cert = certify(committed, learner, course, env, now=utcnow() - timedelta(days=36 * 30))
    assert cert.expires_at is not None and cert.expires_at - utcnow() < timedelta(days=20)
    runner = CliRunner()
    first = runner.invoke(cli, ["reminders", "send"])
    assert first.exit_code == 0, first.output
    assert f"sent {cert.code}" in first.output
    assert "1 reminder(s) sent, 0 failed (window: 20 days)" in first.output
    assert [m["To"] for m in inbox.messages] == [learner.email]
    second = runner.invoke(cli, ["reminders", "send"])
    assert second.exit_code == 0, second.output
    assert "0 reminder(s) sent" in second.output and len(inbox.messages) == 1


def test_records_purge_dry_run_then_for_real(committed, env):
    course = demo_course(committed)
    leaver = make_user(committed, email=EMAIL.format(n=2), full_name="Cli Leaver")
    cert = certify(committed, leaver, course, env, now=utcnow() - timedelta(days=365 * 7))
    records.delete_account(committed, leaver, password=PASSWORD, now=utcnow())
    committed.commit()
    runner = CliRunner()
    dry = runner.invoke(cli, ["records", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"would anonymise {cert.code}" in dry.output
    committed.refresh(cert)
    assert cert.learner_name == "Cli Leaver"
    real = runner.invoke(cli, ["records", "purge"])
    assert real.exit_code == 0, real.output
    assert f"anonymised {cert.code}" in real.output
    committed.rollback()  # end the read snapshot: the CLI wrote through its own connection
    committed.refresh(cert)
    assert (cert.learner_name, cert.license_number) == ("Deleted account", "")
    assert "0 certificate(s)" in runner.invoke(cli, ["records", "purge"]).output


def test_two_processes_running_at_once_send_each_reminder_once(committed, env, smtp):
    inbox, _url = smtp
    course = demo_course(committed)
    learners = [
        make_user(committed, email=EMAIL.format(n=10 + n), full_name="Cli Racer") for n in range(3)
    ]
    for learner in learners:
        certify(committed, learner, course, env, now=utcnow() - timedelta(days=36 * 30))
    command = [sys.executable, "-c", "from app.cli.main import main; main()", "reminders", "send"]
    root = Path(__file__).resolve().parents[2]
    racers = [
        subprocess.Popen(  # noqa: S603 (our own CLI)
            command, cwd=root, env=os.environ.copy(), stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [racer.communicate(timeout=120)[0] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], outputs
    sent = [line for out in outputs for line in out.splitlines() if line.startswith("sent ")]
    assert len(sent) == 3 and len(set(sent)) == 3, outputs
    assert sorted(m["To"] for m in inbox.messages) == sorted(u.email for u in learners)
