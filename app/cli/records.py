"""``lms reminders`` (certificate expiry emails) and ``lms records`` (retention purge)."""

import typer
from sqlmodel import Session

from app.certificates.accreditation import RETENTION_YEARS
from app.cli.errors import reports_errors
from app.core.clock import utcnow
from app.core.db import make_engine, writer
from app.core.settings import get_settings
from app.records import reminders as reminders_service
from app.records import service as records_service

reminders_app = typer.Typer(no_args_is_help=True, help="Certificate expiry reminders")
records_app = typer.Typer(no_args_is_help=True, help="Learner records retention")


@reminders_app.command("send")
@reports_errors
def send() -> None:
    """Email every learner whose certificate expires within LMS_EXPIRY_REMINDER_DAYS (once per
    certificate). Run it daily from cron; exit 1 if the mail server refused any message."""
    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with Session(writer(engine), expire_on_commit=False) as session:
            run = reminders_service.send_expiry_reminders(session, now=utcnow(), settings=settings)
    finally:
        engine.dispose()
    for code in run.sent:
        typer.echo(f"sent {code}")
    for code in run.failed:
        typer.echo(f"failed {code} (will be retried on the next run)", err=True)
    typer.echo(
        f"{len(run.sent)} reminder(s) sent, {len(run.failed)} failed "
        f"(window: {settings.expiry_reminder_days} days)"
    )
    if run.failed:
        raise typer.Exit(1)


@records_app.command("purge")
@reports_errors
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="list what would be anonymised"),
) -> None:
    """Anonymise the certificates of deleted accounts once they are more than the retention
    period old (learner name, licence number, stored token)."""
    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with Session(writer(engine), expire_on_commit=False) as session:
            codes = records_service.purge_deleted_records(session, now=utcnow(), dry_run=dry_run)
            if not dry_run:
                session.commit()
    finally:
        engine.dispose()
    verb = "would anonymise" if dry_run else "anonymised"
    for code in codes:
        typer.echo(f"{verb} {code}")
    typer.echo(
        f"{len(codes)} certificate(s) {verb} (deleted accounts, issued more than "
        f"{RETENTION_YEARS} years ago)"
    )
