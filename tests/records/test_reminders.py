"""Certificate expiry reminders through a real SMTP server: sent once, recorded, only when due."""

from datetime import timedelta

from sqlmodel import select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.certificates import service as certificates
from app.core.clock import as_utc
from app.records import reminders
from app.records import service as records
from tests.factories import PASSWORD, make_user
from tests.records.helpers import certify, demo_course


def _due_soon(session, settings, *, days_left: int = 10):
    """A certificate and a `now` at which it expires in days_left days."""
    course = demo_course(session)
    user = make_user(session)
    cert = certify(session, user, course, settings)
    assert cert.expires_at is not None
    return cert, user, as_utc(cert.expires_at) - timedelta(days=days_left)


def test_reminder_is_mailed_once_with_the_course_page_and_recorded(session, settings, smtp):
    inbox, url = smtp
    settings.smtp_url = url
    cert, user, now = _due_soon(session, settings)
    run = reminders.send_expiry_reminders(session, now=now, settings=settings)
    assert run.sent == [cert.code] and run.failed == []
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == user.email
    assert as_utc(cert.expires_at).date().isoformat() in mail["Subject"]
    body = mail.get_payload(decode=True).decode()
    assert "http://testserver/courses/demo-course" in body
    assert cert.code in body and user.full_name in body
    assert cert.license_number not in body
    session.refresh(cert)
    assert cert.expiry_reminder_sent_at == now
    entry = session.exec(
        select(AuditEntry).where(
            AuditEntry.action == "certificate.expiry_reminder", AuditEntry.subject == cert.code
        )
    ).one()
    assert entry.data["user_id"] == user.id
    again = reminders.send_expiry_reminders(
        session, now=now + timedelta(hours=1), settings=settings
    )
    assert again.sent == [] and len(inbox.messages) == 1


def test_nothing_is_sent_before_the_window_or_after_expiry(session, settings, smtp):
    inbox, url = smtp
    settings.smtp_url = url
    cert, _user, now = _due_soon(session, settings, days_left=settings.expiry_reminder_days + 1)
    assert reminders.send_expiry_reminders(session, now=now, settings=settings).sent == []
    expired = as_utc(cert.expires_at) + timedelta(days=1)
    assert reminders.send_expiry_reminders(session, now=expired, settings=settings).sent == []
    assert inbox.messages == []


def test_the_window_is_configurable(session, settings, smtp):
    inbox, url = smtp
    settings.smtp_url = url
    cert, _user, now = _due_soon(session, settings, days_left=10)
    settings.expiry_reminder_days = 7
    assert reminders.send_expiry_reminders(session, now=now, settings=settings).sent == []
    settings.expiry_reminder_days = 14
    assert reminders.send_expiry_reminders(session, now=now, settings=settings).sent == [cert.code]
    assert len(inbox.messages) == 1


def test_revoked_superseded_and_deleted_learners_get_no_reminder(session, settings, smtp):
    inbox, url = smtp
    settings.smtp_url = url
    revoked, _u1, now = _due_soon(session, settings)
    admin = make_user(session, role=Role.admin)
    certificates.revoke(session, admin, revoked.code, "issued in error", now=now)
    superseded, _u2, _ = _due_soon(session, settings)
    certificates.reissue(session, admin, superseded.code, now=now, settings=settings)
    deleted, leaver, _ = _due_soon(session, settings)
    records.delete_account(session, leaver, password=PASSWORD, now=now)
    control, learner, _ = _due_soon(session, settings)
    session.commit()
    run = reminders.send_expiry_reminders(session, now=now, settings=settings)
    # Only the current certificate of a remaining learner (the reissue expires years later).
    assert run.sent == [control.code]
    assert [m["To"] for m in inbox.messages] == [learner.email]
    assert {revoked.code, superseded.code, deleted.code}.isdisjoint(run.sent)


def test_a_claim_wins_once(session, settings):
    cert, _user, now = _due_soon(session, settings)
    assert reminders.claim(session, cert, now=now) is True
    assert reminders.claim(session, cert, now=now) is False  # another run got there first
    assert reminders.due(session, now=now, settings=settings) == []


def test_a_refused_message_is_retried_on_the_next_run(session, settings, smtp):
    inbox, url = smtp
    settings.smtp_url = url
    inbox.refuse = True
    cert, _user, now = _due_soon(session, settings)
    failed = reminders.send_expiry_reminders(session, now=now, settings=settings)
    assert failed.sent == [] and failed.failed == [cert.code]
    session.refresh(cert)
    assert cert.expiry_reminder_sent_at is None
    inbox.refuse = False
    later = now + timedelta(days=1)
    assert reminders.send_expiry_reminders(session, now=later, settings=settings).sent == [
        cert.code
    ]
    assert len(inbox.messages) == 1
