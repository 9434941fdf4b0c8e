"""``lms audit``: check the hash-chained audit log."""

import typer
from sqlmodel import Session

from app.audit import service as audit
from app.core.db import make_engine
from app.core.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Audit log")


@app.command("verify")
def verify_chain() -> None:
    """Recompute the chain; exit 1 naming the first broken entry."""
    engine = make_engine(get_settings().sqlalchemy_url)
    with Session(engine) as session:
        check = audit.verify_chain(session)
    engine.dispose()
    if not check.ok:
        typer.echo(f"BROKEN at entry {check.first_broken_id}: {check.reason}")
        raise typer.Exit(1)
    typer.echo(f"OK: {check.entries} entries, chain intact")
