from sqlmodel import Session, select
from typer.testing import CliRunner

from app.accounts.models import Role, User
from app.cli.main import app as cli
from app.core.settings import get_settings


def test_users_create_reads_the_password_from_stdin(engine, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_DATABASE_URL", database_url)
    monkeypatch.setenv("LMS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    email = "cli.instructor@example.org"
    try:
        result = runner.invoke(
            cli,
            ["users", "create", "--email", email, "--name", "Ada Cli", "--role", "instructor"],
            input="granite owls whisper softly\n",
        )
        assert result.exit_code == 0, result.output
        assert "created instructor" in result.output
        weak = runner.invoke(
            cli,
            ["users", "create", "--email", "b@example.org", "--name", "B", "--role", "learner"],
            input="short\n",
        )
        assert weak.exit_code == 1
        assert "at least 15" in weak.output
        with Session(engine) as session:
            user = session.exec(select(User).where(User.email == email)).one()
            assert user.role == Role.instructor
    finally:
        with Session(engine) as session:
            for u in session.exec(select(User).where(User.email == email)):
                session.delete(u)
            session.commit()
        get_settings.cache_clear()
