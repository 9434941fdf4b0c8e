"""Certificate expiry reminders: one email per certificate, a configurable number of days
before it expires, pointing at the course page where renewal is offered."""

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.audit import service as audit
from app.certificates.models import Certificate
from app.core.clock import as_utc
from app.core.db import rowcount
from app.core.mail import send_mail
from app.core.settings import Settings
from app.courses.models import Course

log = logging.getLogger("lms.reminders")


@dataclass(frozen=True)
class Reminder:
    code: str
    to: str
    subject: str
    body: str


@dataclass
class ReminderRun:
    sent: list[str] = field(default_factory=list)  # certificate codes
    failed: list[str] = field(default_factory=list)  # refused by the mail server; retried next run


def due(
    session: Session, *, now: datetime, settings: Settings
) -> list[tuple[Certificate, User, Course]]:
    """Current certificates expiring within the window, not yet reminded, whose learner still
    has an account."""
    until = now + timedelta(days=settings.expiry_reminder_days)
    return [
        (cert, user, course)
        for cert, user, course in session.exec(
            select(Certificate, User, Course)
            .join(User, col(User.id) == Certificate.user_id)
            .join(Course, col(Course.id) == Certificate.course_id)
            .where(
                col(Certificate.revoked_at).is_(None),
                col(Certificate.superseded_by_id).is_(None),
                col(Certificate.expiry_reminder_sent_at).is_(None),
                col(Certificate.expires_at) > now,
                col(Certificate.expires_at) <= until,
                col(User.deleted_at).is_(None),
                col(User.is_active).is_(True),
            )
            .order_by(col(Certificate.expires_at), col(Certificate.id))
        )
    ]


def reminder_mail(cert: Certificate, user: User, course: Course, settings: Settings) -> Reminder:
    assert cert.expires_at is not None  # noqa: S101 (due() selects expiring certificates only)
    expires = as_utc(cert.expires_at).date().isoformat()
    base = settings.public_base_url
    body = (
        f"Hello {user.full_name},\n\n"
        f"Your certificate {cert.code} for “{cert.course_title}” ({cert.ce_hours:g} CE hours) "
        f"expires on {expires}.\n\n"
        "To renew it, open the course page, where renewal is offered:\n\n"
        f"{base}/courses/{course.slug}\n\n"
        f"Anyone can check the certificate's status at {base}/verify/{cert.code}\n\n"
        "This is the only reminder we send for this certificate.\n"
    )
    return Reminder(
        code=cert.code,
        to=user.email,
        subject=f"{settings.site_name}: your certificate expires on {expires}",
        body=body,
    )


def claim(session: Session, cert: Certificate, *, now: datetime) -> bool:
    """Marks the certificate reminded unless another run already did (a conditional UPDATE,
    so two cron runs or processes racing for it cannot both win)."""
    claimed = rowcount(
        session.execute(
            update(Certificate)
            .where(
                col(Certificate.id) == cert.id,
                col(Certificate.expiry_reminder_sent_at).is_(None),
            )
            .values(expiry_reminder_sent_at=now)
        )
    )
    return claimed == 1


def _release(session: Session, cert: Certificate) -> None:
    session.execute(
        update(Certificate)
        .where(col(Certificate.id) == cert.id)
        .values(expiry_reminder_sent_at=None)
    )


def send_expiry_reminders(session: Session, *, now: datetime, settings: Settings) -> ReminderRun:
    """Sends each due reminder once, through settings.smtp_url.

    Unlike other services this is a job that commits: each claim is committed before its
    message leaves, so neither a second run, a parallel one, nor a crash after sending can
    send it twice. A message the mail server refuses releases its claim for the next run."""
    run = ReminderRun()
    for cert, user, course in due(session, now=now, settings=settings):
        if not claim(session, cert, now=now):
            continue
        mail = reminder_mail(cert, user, course, settings)
        audit.record(
            session,
            "certificate.expiry_reminder",
            cert.code,
            {"user_id": user.id, "expires_at": as_utc(cert.expires_at or now).isoformat()},
            actor_id=None,
            now=now,
        )
        session.commit()
        try:
            send_mail(settings.smtp_url, settings.mail_from, mail.to, mail.subject, mail.body)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("expiry reminder for %s not sent: %s", cert.code, exc)
            _release(session, cert)
            audit.record(
                session,
                "certificate.expiry_reminder_failed",
                cert.code,
                {"error": type(exc).__name__},
                actor_id=None,
                now=now,
            )
            session.commit()
            run.failed.append(cert.code)
            continue
        run.sent.append(cert.code)
    return run
