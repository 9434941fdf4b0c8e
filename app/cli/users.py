"""``lms users``: account administration from the shell."""

import sys

import typer
from pydantic import ValidationError
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from app.accounts.schemas import RegisterIn
from app.cli.errors import reports_errors
from app.core.clock import utcnow
from app.core.db import make_engine, writer
from app.core.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="User accounts")


@app.command("create")
@reports_errors
def create(
    email: str = typer.Option(..., help="email address"),
    name: str = typer.Option(..., help="full name"),
    role: Role = typer.Option(Role.learner, help="learner, instructor or admin"),
    profession: str = typer.Option("Other", help="profession or licence type"),
) -> None:
    """Create an account; the password is read from standard input."""
    password = sys.stdin.readline().rstrip("\r\n")
    settings = get_settings()
    try:
        data = RegisterIn(email=email, password=password, full_name=name, profession=profession)
    except ValidationError as exc:
        for err in exc.errors():
            typer.echo(f"error: {'.'.join(map(str, err['loc']))}: {err['msg']}", err=True)
        raise typer.Exit(1) from exc
    engine = make_engine(settings.sqlalchemy_url)
    with Session(writer(engine), expire_on_commit=False) as session:
        user = accounts.create_user(session, data, role=role, now=utcnow(), settings=settings)
        session.commit()
    engine.dispose()
    typer.echo(f"created {user.role.value} {user.email}")
