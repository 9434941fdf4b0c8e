"""``lms content``: check, import and export course and quiz files."""

from datetime import date
from pathlib import Path

import typer
from sqlmodel import Session

from app.cli.errors import reports_errors
from app.core.clock import utcnow
from app.core.db import make_engine, writer
from app.core.settings import get_settings
from app.studio import exporter, importer
from app.studio.parsing import load_content

app = typer.Typer(no_args_is_help=True, help="Course and quiz files")


def _root(directory: Path | None) -> Path:
    root = directory or get_settings().content_dir
    if not (root / "courses").is_dir():
        typer.echo(f"error: {root}/courses is not a directory", err=True)
        raise typer.Exit(1)
    return root


@app.command("check")
def check(
    directory: Path | None = typer.Argument(None, help="folder holding courses/ and quizzes/"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="problems only, no statistics"),
) -> None:
    """Validate every course and quiz file; prints `path:line: problem`; exit 1 on any error."""
    report = load_content(_root(directory), today=date.today())  # noqa: DTZ011 (local date is right here)
    for problem in report.problems:
        typer.echo(str(problem))
    if not quiet:
        for line in report.stats:
            typer.echo(line)
    errors = len(report.errors)
    warnings = len(report.problems) - errors
    typer.echo(f"{len(report.courses)} course(s), {errors} error(s), {warnings} warning(s)")
    if errors:
        raise typer.Exit(1)


@app.command("import")
@reports_errors
def import_(
    directory: Path | None = typer.Argument(None, help="folder holding courses/ and quizzes/"),
) -> None:
    """Import all courses in one transaction; unchanged content creates no new version."""
    root = _root(directory)
    report = load_content(root, today=date.today())  # noqa: DTZ011
    if report.errors:
        for problem in report.errors:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(report.errors)} error(s): nothing was imported", err=True)
        raise typer.Exit(1)
    engine = make_engine(get_settings().sqlalchemy_url)
    with Session(writer(engine), expire_on_commit=False) as session:
        result = importer.import_specs(session, report.courses, now=utcnow())
        session.commit()
    engine.dispose()
    typer.echo(result.summary())


@app.command("export")
def export(
    directory: Path = typer.Argument(..., help="folder to write courses/ and quizzes/ to"),
) -> None:
    """Write the database's courses back out in the same file format."""
    engine = make_engine(get_settings().sqlalchemy_url)
    with Session(engine) as session:
        written = exporter.export_content(session, directory)
    engine.dispose()
    typer.echo(f"wrote {len(written)} file(s) to {directory}")
