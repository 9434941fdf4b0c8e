import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner

from app.certificates import service as certificates
from app.cli.main import app as cli
from app.core.clock import utcnow
from app.core.settings import Settings, get_settings
from tests.content_helpers import complete_course, import_tree
from tests.factories import make_user

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"


@pytest.fixture
def env(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("LMS_DATABASE_URL", database_url)
    monkeypatch.setenv("LMS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LMS_BASE_URL", "http://testserver")
    get_settings.cache_clear()
    yield Settings(data_dir=tmp_path, database_url=database_url, base_url="http://testserver")
    get_settings.cache_clear()


@pytest.fixture
def issued(session, env):
    course = import_tree(session, DEMO)[0]
    user = make_user(session)
    complete_course(session, user, course, DEMO)
    cert, _ = certificates.issue_certificate(session, user, course, now=utcnow(), settings=env)
    session.commit()
    return cert


def test_keys_list_and_rotate(env):
    runner = CliRunner()
    listed = runner.invoke(cli, ["keys", "list"])
    assert listed.exit_code == 0 and listed.output.startswith("* ES256")
    rotated = runner.invoke(cli, ["keys", "rotate", "--alg", "RS256"])
    assert rotated.exit_code == 0 and "RS256" in rotated.output
    assert runner.invoke(cli, ["keys", "rotate", "--alg", "HS256"]).exit_code == 1
    lines = runner.invoke(cli, ["keys", "list"]).output.splitlines()
    assert len(lines) == 2 and lines[1].startswith("* RS256")


def test_verify_token_and_pdf_offline_with_a_jwks_file(session, env, issued, tmp_path):
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(certificates.jwks(env)))
    runner = CliRunner()
    ok = runner.invoke(cli, ["verify", issued.token, "--jwks", str(jwks_file)])
    assert ok.exit_code == 0, ok.output
    assert "VALID" in ok.output and issued.code in ok.output
    head, body, sig = issued.token.split(".")
    bad = runner.invoke(cli, ["verify", f"{head}.{body}x.{sig}", "--jwks", str(jwks_file)])
    assert bad.exit_code == 1 and bad.output.startswith("INVALID:")
    pdf_file = tmp_path / "certificate.pdf"
    pdf_file.write_bytes(certificates.render_pdf(session, issued))
    from_pdf = runner.invoke(cli, ["verify", str(pdf_file), "--jwks", str(jwks_file)])
    assert from_pdf.exit_code == 0, from_pdf.output
    empty_jwks = tmp_path / "other.json"
    empty_jwks.write_text('{"keys": []}')
    assert runner.invoke(cli, ["verify", issued.token, "--jwks", str(empty_jwks)]).exit_code == 1


def test_audit_verify_names_the_first_broken_entry(engine, env):
    from app.audit import service as audit

    runner = CliRunner()
    with Session(engine) as s:  # committed for real: the CLI reads through its own engine
        for n in range(3):
            audit.record(s, "test.event", f"subject-{n}", {"n": n}, actor_id=None, now=utcnow())
        s.commit()
    try:
        ok = runner.invoke(cli, ["audit", "verify"])
        assert ok.exit_code == 0 and ok.output.startswith("OK:"), ok.output
        with engine.begin() as conn:
            victim = conn.execute(
                text("SELECT id FROM audit_entry WHERE subject = 'subject-1'")
            ).scalar()
            conn.execute(text("UPDATE audit_entry SET actor_id = 999 WHERE id = :i"), {"i": victim})
        broken = runner.invoke(cli, ["audit", "verify"])
        assert broken.exit_code == 1
        assert f"BROKEN at entry {victim}" in broken.output
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_entry WHERE action = 'test.event'"))
