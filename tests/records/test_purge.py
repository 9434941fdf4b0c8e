"""The retention purge: deleted accounts' certificates are anonymised only after six years."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from app.audit.models import AuditEntry
from app.certificates.accreditation import RETENTION_YEARS
from app.core.clock import utcnow
from app.records import service as records
from tests.factories import PASSWORD, make_user
from tests.records.helpers import certify, demo_course


def _issued(session, settings, *, years_ago: float, delete: bool):
    course = demo_course(session)
    user = make_user(session, full_name="Sam Former")
    cert = certify(
        session, user, course, settings, now=utcnow() - timedelta(days=365.25 * years_ago)
    )
    if delete:
        records.delete_account(session, user, password=PASSWORD, now=utcnow())
    session.commit()
    return cert


def test_only_deleted_accounts_certificates_older_than_six_years_are_anonymised(
    client, session, settings
):
    old_deleted = _issued(session, settings, years_ago=RETENTION_YEARS + 0.5, delete=True)
    young_deleted = _issued(session, settings, years_ago=RETENTION_YEARS - 0.5, delete=True)
    old_kept = _issued(session, settings, years_ago=RETENTION_YEARS + 0.5, delete=False)
    now = utcnow()
    planned = records.purge_deleted_records(session, now=now, dry_run=True)
    assert planned == [old_deleted.code]
    session.refresh(old_deleted)
    assert old_deleted.learner_name == "Sam Former"  # a dry run changes nothing
    assert records.purge_deleted_records(session, now=now) == [old_deleted.code]
    session.commit()
    for cert in (old_deleted, young_deleted, old_kept):
        session.refresh(cert)
    assert old_deleted.learner_name == "Deleted account"
    assert (old_deleted.license_number, old_deleted.token, old_deleted.credential) == ("", "", {})
    assert old_deleted.course_title and old_deleted.ce_hours  # what was completed stays
    for kept in (young_deleted, old_kept):
        assert (kept.learner_name, kept.license_number) == ("Sam Former", "LCSW-12345")
        assert kept.token
    record = client.get(f"/api/v1/certificates/{old_deleted.code}").json()
    assert record["learner_name"] == "Deleted account"
    page = client.get(f"/verify/{old_deleted.code}")
    assert page.status_code == 200 and "Sam Former" not in page.text
    assert "anonymised after the retention period" in page.text
    verdict = client.post("/api/v1/verify/batch", json={"items": [old_deleted.code]}).json()
    assert verdict["results"][0]["valid"] is False
    assert verdict["results"][0]["status"] == "expired"
    assert "anonymised after the retention period" in verdict["results"][0]["reason"]
    entry = session.exec(
        select(AuditEntry)
        .where(AuditEntry.action == "records.purge")
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry.data["codes"] == [old_deleted.code]
    assert records.purge_deleted_records(session, now=now) == []  # done once


def test_the_cutoff_is_six_calendar_years():
    assert records.retention_cutoff(datetime(2032, 3, 1, tzinfo=UTC)) == datetime(
        2026, 3, 1, tzinfo=UTC
    )
    assert records.retention_cutoff(datetime(2032, 2, 29, tzinfo=UTC)) == datetime(
        2026, 2, 28, tzinfo=UTC
    )
