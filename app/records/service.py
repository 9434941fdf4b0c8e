"""A learner's records: everything held about them as JSON, account deletion that keeps the
completion records accreditors require, and the purge once the retention period is over."""

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from app.accounts.models import (
    LoginFailure,
    PasswordResetToken,
    RecoveryCode,
    Role,
    User,
    WebSession,
)
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.certificates.accreditation import RETENTION_YEARS
from app.certificates.models import Certificate
from app.core.security import verify_password
from app.courses.models import Course, Enrollment, Module, ModuleVisit
from app.licences import service as licences
from app.licences.models import Licence
from app.quizzes import grading
from app.quizzes.models import EvaluationResponse, QuizAttempt, QuizBank
from app.records.errors import LastAdministrator, WrongPassword
from app.records.schemas import (
    AttemptExport,
    AuditExport,
    CertificateExport,
    DataExport,
    EnrolmentExport,
    EvaluationExport,
    LicenceExport,
    ModuleVisitExport,
    ProfileExport,
)

DELETED_NAME = "Deleted account"
# argon2 never produces this, so no password matches it.
UNUSABLE_PASSWORD = "!deleted"  # noqa: S105 (a marker, not a secret)


def placeholder_email(user: User) -> str:
    """Unique per account (the uuid), in a domain that can never receive mail (RFC 2606)."""
    return f"deleted-{user.uuid}@invalid.example"


# --- export --------------------------------------------------------------------------------


def _profile(user: User) -> ProfileExport:
    return ProfileExport(
        uuid=user.uuid,
        email=user.email,
        full_name=user.full_name,
        profession=user.profession,
        license_number=user.license_number,
        license_state=user.license_state,
        role=user.role.value,
        is_totp_enabled=user.is_totp_enabled,
        created_at=user.created_at,
        deleted_at=user.deleted_at,
    )


def _licences(session: Session, user: User) -> list[LicenceExport]:
    return [
        LicenceExport(**licences.out(lic).model_dump(), created_at=lic.created_at)
        for lic in licences.licences_of(session, user)
    ]


def _enrolments(session: Session, user: User) -> list[EnrolmentExport]:
    visits: dict[int, list[ModuleVisitExport]] = defaultdict(list)
    for visit, module in session.exec(
        select(ModuleVisit, Module)
        .join(Module, col(Module.id) == ModuleVisit.module_id)
        .where(ModuleVisit.user_id == user.id)
        .order_by(col(Module.position), col(ModuleVisit.id))
    ):
        visits[module.course_id].append(
            ModuleVisitExport(
                module=module.slug,
                first_seen_at=visit.first_seen_at,
                last_seen_at=visit.last_seen_at,
                seconds_on_page=visit.seconds_on_page,
            )
        )
    return [
        EnrolmentExport(
            course=course.slug,
            course_title=course.title,
            enrolled_at=enrolment.enrolled_at,
            last_seen_at=enrolment.last_seen_at,
            last_anchor=enrolment.last_anchor,
            module_visits=visits.get(course.id or 0, []),
        )
        for enrolment, course in session.exec(
            select(Enrollment, Course)
            .join(Course, col(Course.id) == Enrollment.course_id)
            .where(Enrollment.user_id == user.id)
            .order_by(col(Enrollment.enrolled_at), col(Enrollment.id))
        )
    ]


def _attempts(session: Session, user: User) -> list[AttemptExport]:
    return [
        AttemptExport(
            id=attempt.public_id,
            course=course.slug,
            quiz=bank.key,
            number=attempt.number,
            started_at=attempt.started_at,
            submitted_at=attempt.submitted_at,
            score=attempt.score,
            passed=attempt.is_passed,
            pass_mark=attempt.pass_mark,
            # The questions as the learner saw them: never the answer key of an unrevealed quiz.
            questions=grading.public_questions(attempt.snapshot),
            answers=attempt.answers,
            results=attempt.results,
        )
        for attempt, bank, course in session.exec(
            select(QuizAttempt, QuizBank, Course)
            .join(QuizBank, col(QuizBank.id) == QuizAttempt.bank_id)
            .join(Course, col(Course.id) == QuizBank.course_id)
            .where(QuizAttempt.user_id == user.id)
            .order_by(col(QuizAttempt.started_at), col(QuizAttempt.id))
        )
    ]


def _evaluations(session: Session, user: User) -> list[EvaluationExport]:
    return [
        EvaluationExport(course=course.slug, submitted_at=row.submitted_at, answers=row.answers)
        for row, course in session.exec(
            select(EvaluationResponse, Course)
            .join(Course, col(Course.id) == EvaluationResponse.course_id)
            .where(EvaluationResponse.user_id == user.id)
            .order_by(col(EvaluationResponse.submitted_at))
        )
    ]


def _certificates(session: Session, user: User) -> list[CertificateExport]:
    return [
        CertificateExport(
            code=cert.code,
            course=course.slug if course else None,
            course_title=cert.course_title,
            content_version=cert.content_version,
            learner_name=cert.learner_name,
            profession=cert.profession,
            profession_key=cert.profession_key,
            license_state=cert.license_state,
            license_number=cert.license_number,
            licence_id=cert.licence_id,
            ce_hours=cert.ce_hours,
            completion_date=cert.completion_date,
            issued_at=cert.issued_at,
            expires_at=cert.expires_at,
            revoked_at=cert.revoked_at,
            revocation_reason=cert.revocation_reason,
            superseded=cert.superseded_by_id is not None,
            credit_basis=cert.credit_basis,
            approvals=cert.approvals,
            expiry_reminder_sent_at=cert.expiry_reminder_sent_at,
            token=cert.token,
        )
        for cert, course in session.exec(
            select(Certificate, Course)
            .outerjoin(Course, col(Course.id) == Certificate.course_id)
            .where(Certificate.user_id == user.id)
            .order_by(col(Certificate.issued_at), col(Certificate.id))
        )
    ]


def _audit(session: Session, user: User, subjects: list[str]) -> list[AuditExport]:
    """Entries the user caused, and entries about their account, attempts and certificates."""
    about = or_(col(AuditEntry.actor_id) == user.id, col(AuditEntry.subject).in_(subjects))
    return [
        AuditExport(
            at=entry.at,
            action=entry.action,
            subject=entry.subject,
            by_you=entry.actor_id == user.id,
            data=entry.data,
        )
        for entry in session.exec(select(AuditEntry).where(about).order_by(col(AuditEntry.id)))
    ]


def export_user_data(session: Session, user: User, *, now: datetime) -> DataExport:
    """Everything held about this account, and nothing about anybody else's."""
    attempts = _attempts(session, user)
    certificates = _certificates(session, user)
    subjects = [user.uuid, *(a.id for a in attempts), *(c.code for c in certificates)]
    return DataExport(
        exported_at=now,
        profile=_profile(user),
        licences=_licences(session, user),
        enrolments=_enrolments(session, user),
        quiz_attempts=attempts,
        evaluations=_evaluations(session, user),
        certificates=certificates,
        audit_entries=_audit(session, user, subjects),
    )


# --- deletion ------------------------------------------------------------------------------


def _other_admins(session: Session, user: User) -> int:
    return session.exec(
        select(func.count()).where(
            col(User.role) == Role.admin,
            col(User.is_active).is_(True),
            col(User.deleted_at).is_(None),
            col(User.id) != user.id,
        )
    ).one()


def _blank_free_text(session: Session, user: User) -> None:
    # Free text can say anything about the person; ratings (numbers) stay for course statistics.
    for row in session.exec(
        select(EvaluationResponse).where(EvaluationResponse.user_id == user.id)
    ):
        blanked: dict[str, Any] = {
            key: "" if isinstance(value, str) else value for key, value in row.answers.items()
        }
        if blanked != row.answers:
            row.answers = blanked
            session.add(row)


def delete_account(session: Session, user: User, *, password: str, now: datetime) -> None:
    """Deletes the account in the caller's transaction: contact details, sign-in means and
    licences go; quiz attempts and certificates stay, anonymised through the account (ANCC
    requires completion records for at least RETENTION_YEARS). Raises WrongPassword, or
    LastAdministrator for the site's only administrator."""
    if not verify_password(user.password_hash, password):
        raise WrongPassword("the password is wrong", field="password")
    if user.role == Role.admin and _other_admins(session, user) == 0:
        raise LastAdministrator(
            "you are the only administrator: make someone else an administrator first",
            field="password",
        )
    old_email = user.email
    for table in (WebSession, PasswordResetToken, RecoveryCode, Licence):
        session.execute(delete(table).where(col(table.user_id) == user.id))
    # Throttling rows are keyed by the email address: contact details too.
    session.execute(delete(LoginFailure).where(col(LoginFailure.key) == f"account:{old_email}"))
    _blank_free_text(session, user)
    user.email = placeholder_email(user)
    user.full_name = DELETED_NAME
    user.profession = ""
    user.license_number = ""
    user.license_state = ""
    user.password_hash = UNUSABLE_PASSWORD
    user.totp_secret = None
    user.is_totp_enabled = False
    user.totp_last_step = None
    user.is_active = False
    user.deleted_at = now
    session.add(user)
    session.flush()
    audit.record(
        session,
        "account.delete",
        user.uuid,
        {"user_id": user.id, "role": user.role.value},
        actor_id=user.id,
        now=now,
    )


# --- retention -----------------------------------------------------------------------------


def retention_cutoff(now: datetime) -> datetime:
    """RETENTION_YEARS before now (29 February falls back to the 28th)."""
    year = now.year - RETENTION_YEARS
    try:
        return now.replace(year=year)
    except ValueError:
        return now.replace(year=year, day=28)


def purge_deleted_records(session: Session, *, now: datetime, dry_run: bool = False) -> list[str]:
    """Anonymises the certificates of deleted accounts issued more than RETENTION_YEARS ago
    (learner name, licence number, and the stored signed token and credential, which carry the
    name); returns their codes. dry_run only lists them."""
    rows = session.exec(
        select(Certificate.id, Certificate.code)
        .outerjoin(User, col(User.id) == Certificate.user_id)
        .where(
            or_(col(Certificate.user_id).is_(None), col(User.deleted_at).is_not(None)),
            col(Certificate.issued_at) < retention_cutoff(now),
            or_(
                col(Certificate.learner_name) != DELETED_NAME,
                col(Certificate.license_number) != "",
                col(Certificate.token) != "",
            ),
        )
        .order_by(col(Certificate.id))
    ).all()
    codes = [code for _id, code in rows]
    if dry_run or not rows:
        return codes
    session.execute(
        update(Certificate)
        .where(col(Certificate.id).in_([row_id for row_id, _code in rows]))
        .values(learner_name=DELETED_NAME, license_number="", token="", credential={})
    )
    audit.record(
        session,
        "records.purge",
        f"{len(codes)} certificate(s)",
        {"codes": codes, "retention_years": RETENTION_YEARS},
        actor_id=None,
        now=now,
    )
    return codes
