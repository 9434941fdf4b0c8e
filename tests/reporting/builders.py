"""Courses, approvals and certificate rows for the reporting tests.

Certificates are written directly (as certificate issue will record them: the licence chosen at
claim, its profession key, the approvals that applied), so each test states exactly the records
it reports on."""

import itertools
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session

from app.accounts.models import User
from app.certificates import codes
from app.certificates.accreditation import Approval, CEBroker
from app.certificates.models import Certificate
from app.core.clock import utcnow
from app.courses.models import Course, CourseStatus

_n = itertools.count(1)

# Test data only: the codes are made up for the tests (real ones come from course.yaml).
FLORIDA = Approval(
    id="fl-board",
    body="State board",
    body_name="Test State Board of Social Work",
    number="BAP-0001",
    statement="Approved by the test board.",
    credit_type="CE hours",
    credit_amount=0.15,
    professions=("social-worker", "counselor", "mft"),
    states=("FL",),
    valid_from=date(2026, 1, 1),
    valid_until=date(2028, 12, 31),
    cebroker=CEBroker(
        provider_tracking_number="50-11111",
        course_tracking_number="20-222222",
        profession_codes={"social-worker": "TSW", "mft": "TMFT"},
    ),
)
# No course tracking number (reported by the course's own id) and partial credit.
GEORGIA_NURSES = Approval(
    id="ga-nursing",
    body="State board",
    body_name="Test Board of Nursing",
    number="NUR-0002",
    statement="Approved by the test nursing board.",
    credit_type="contact hours",
    credit_amount=0.1,
    professions=("nurse",),
    states=("GA",),
    valid_from=date(2026, 1, 1),
    valid_until=date(2028, 12, 31),
    cebroker=CEBroker(
        provider_tracking_number="33333",
        course_tracking_number="",
        profession_codes={"nurse": "TRN"},
        subject_code="TSUBJ",
        hours=0.1,
    ),
)
APA = Approval(
    id="apa",
    body="APA",
    body_name="",
    number="APA-0003",
    statement="APA approved.",
    credit_type="CE credits",
    credit_amount=0.15,
    professions=("psychologist",),
    states=(),
    valid_from=date(2025, 1, 1),
    valid_until=date(2026, 6, 30),
)


def make_course(
    session: Session,
    *,
    slug: str | None = None,
    title: str = "Reporting test course",
    provider: str = "Test Provider A",
    status: CourseStatus = CourseStatus.published,
    release: date = date(2026, 1, 15),
    expires: date = date(2029, 1, 15),
    ce_hours: float = 1.5,
    approvals: list[Approval] | None = None,
) -> Course:
    now = utcnow()
    course = Course(
        slug=slug or f"report-course-{next(_n)}",
        title=title,
        summary="s",
        audience="a",
        ce_hours=ce_hours,
        instructional_level="introductory",
        delivery_format="Self-paced online",
        provider_name=provider,
        accreditation_statement="",
        release_date=release,
        last_review_date=release,
        expires_on=expires,
        certificate_validity_months=24,
        status=status,
        approvals=[a.to_json() for a in (approvals or [])],
        course_yaml_source="",
        content_hash="0" * 64,
        created_at=now,
        updated_at=now,
    )
    session.add(course)
    session.flush()
    return course


def make_certificate(
    session: Session,
    course: Course,
    *,
    user: User | None = None,
    name: str = "Robin Learner",
    state: str = "FL",
    number: str = "SW-1001",
    profession_key: str = "social-worker",
    completed: date = date(2026, 3, 2),
    approvals: list[Approval] | None = None,
    revoked: bool = False,
    generation: int = 1,
    ce_hours: float | None = None,
) -> Certificate:
    issued = datetime.combine(completed, datetime.min.time(), tzinfo=UTC)
    cert = Certificate(
        code=codes.new_code("TST"),
        user_id=user.id if user else None,
        course_id=course.id,
        generation=generation,
        learner_name=name,
        profession=profession_key,
        license_state=state,
        license_number=number,
        course_title=course.title,
        content_version=str(course.version),
        ce_hours=course.ce_hours if ce_hours is None else ce_hours,
        completion_date=completed,
        issued_at=issued,
        profession_key=profession_key,
        approvals=[a.to_json() for a in (approvals if approvals is not None else [FLORIDA])],
        revoked_at=issued if revoked else None,
    )
    session.add(cert)
    session.flush()
    return cert


def reissue(session: Session, old: Certificate, **changes: Any) -> Certificate:
    """A reissue of the same completion: the next generation, the old one superseded."""
    new = Certificate(
        **{
            **old.model_dump(exclude={"id", "code", "generation", "superseded_by_id"}),
            "code": codes.new_code("TST"),
            "generation": old.generation + 1,
            **changes,
        }
    )
    session.add(new)
    session.flush()
    old.superseded_by_id = new.id
    session.add(old)
    session.flush()
    return new
