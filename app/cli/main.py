"""The ``lms`` command line."""

import typer

from app.cli import audit, content, keys, records, users
from app.cli.verify import verify
from app.core.db import make_engine, upgrade_to_head
from app.core.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Clinician CE platform")
db_app = typer.Typer(no_args_is_help=True, help="Database commands")
app.add_typer(db_app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(content.app, name="content")
app.add_typer(keys.app, name="keys")
app.add_typer(audit.app, name="audit")
app.add_typer(records.reminders_app, name="reminders")
app.add_typer(records.records_app, name="records")
app.command("verify")(verify)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations."""
    settings = get_settings()
    settings.ensure_data_dir()
    engine = make_engine(settings.sqlalchemy_url)
    upgrade_to_head(engine)
    engine.dispose()
    typer.echo("database is at the newest migration")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="interface to listen on"),
    port: int = typer.Option(8000, help="port"),
    workers: int = typer.Option(1, help="worker processes"),
) -> None:
    """Migrate, import content if it changed, make signing keys on first run, serve."""
    import uvicorn

    from app.cli.startup import prepare

    prepare(get_settings())
    uvicorn.run(
        "app.asgi:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


def main() -> None:
    app()
