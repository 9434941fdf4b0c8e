"""Certificates: issuing (once), status, verification online and from files, revocation,
reissue, transcripts, the signed status list. Every issue/revoke/reissue is audited."""

import hashlib
from calendar import monthrange
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.audit import service as audit
from app.certificates import codes, pdf, signing, status_list
from app.certificates.accreditation import (
    Approval,
    CourseFacts,
    applicable,
    approvals_of,
    learner_rule_failures,
)
from app.certificates.errors import (
    AlreadyRevoked,
    CertificateNotFound,
    RequirementsUnmet,
    UnreadableDocument,
)
from app.certificates.keys import KeyStore
from app.certificates.models import Certificate
from app.certificates.schemas import CertificateOut, VerifyOut
from app.core.clock import as_utc
from app.core.errors import Conflict
from app.core.settings import Settings
from app.courses import service as courses
from app.courses.models import Course
from app.licences import service as licences
from app.licences.models import Licence
from app.licences.professions import key_for, label
from app.quizzes import service as quizzes

VALID, REVOKED, EXPIRED, SUPERSEDED, INVALID = (
    "valid",
    "revoked",
    "expired",
    "superseded",
    "invalid",
)
STATUS_LIST_PATH = "/credentials/status/revocation"
TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "certificates"


@lru_cache(maxsize=8)
def _store(directory: str) -> KeyStore:
    return KeyStore(Path(directory))


def keystore(settings: Settings) -> KeyStore:
    return _store(str(settings.signing_keys_dir))


def ensure_keys(settings: Settings) -> None:
    """Makes the first signing key if there is none (first run)."""
    keystore(settings).ensure()


def jwks(settings: Settings) -> dict[str, Any]:
    store = keystore(settings)
    store.ensure()
    return dict(store.jwks(settings.public_base_url))


def verify_url(settings: Settings, code: str) -> str:
    return f"{settings.public_base_url}/verify/{code}"


def pdf_url(settings: Settings, code: str) -> str:
    return f"{settings.public_base_url}/certificates/{code}.pdf"


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def find_active(session: Session, user: User, course: Course) -> Certificate | None:
    return session.exec(
        select(Certificate)
        .where(
            Certificate.user_id == user.id,
            Certificate.course_id == course.id,
            col(Certificate.superseded_by_id).is_(None),
        )
        .order_by(col(Certificate.generation).desc())
    ).first()


def missing_requirements(session: Session, user: User, course: Course) -> list[str]:
    return courses.progress(session, user, course).requirements_missing()


def _criteria(course: Course, module_count: int) -> str:
    return (
        f"Passed the quizzes of all {module_count} modules, passed the final exam and submitted "
        f"the course evaluation of “{course.title}” (content version {course.version})."
    )


def _sign(
    session: Session, cert: Certificate, user_uuid: str, course: Course, settings: Settings
) -> None:
    """Builds and signs the credential of a flushed row (its id is the status-list index)."""
    assert cert.id is not None  # noqa: S101
    modules = courses.active_modules(session, course)
    credential = signing.build_credential(
        base_url=settings.public_base_url,
        code=cert.code,
        issuer_name=course.provider_name,
        learner_uuid=user_uuid,
        learner_name=cert.learner_name,
        course_title=cert.course_title,
        course_description=course.summary,
        criteria_narrative=_criteria(course, len(modules)),
        achievement_id=f"{settings.public_base_url}/courses/{course.slug}",
        content_version=cert.content_version,
        ce_hours=cert.ce_hours,
        valid_from=cert.issued_at,
        valid_until=cert.expires_at,
        status_list_url=f"{settings.public_base_url}{STATUS_LIST_PATH}",
        status_index=cert.id,
        extra_subject={
            "profession": cert.profession,
            "licenseState": cert.license_state,
            "completionDate": cert.completion_date.isoformat(),
            "deliveryFormat": course.delivery_format,
            "instructionalLevel": course.instructional_level,
        },
    )
    store = keystore(settings)
    store.ensure()
    key = store.current()
    cert.token = signing.sign_credential(
        credential, key, base_url=settings.public_base_url, issued_at=cert.issued_at
    )
    cert.credential = credential
    cert.kid = f"{settings.public_base_url}/keys/{key.thumbprint}"


def _credit_basis(
    session: Session,
    user: User,
    course: Course,
    *,
    final_score: float | None,
    approvals: list[Approval],
) -> dict[str, Any]:
    """What the credit rests on, kept with the certificate for accreditors' audits."""
    modules = courses.active_modules(session, course)
    return {
        "content_version": course.version,
        "course_credit_basis": course.credit_basis,
        "ce_hours": course.ce_hours,
        "modules": [
            {
                "slug": m.slug,
                "version": v.version,
                "word_count": v.word_count,
                "estimated_minutes": v.estimated_minutes,
            }
            for m, v in modules
        ],
        "seconds_on_modules": courses.time_on_modules(session, user, course),
        "passed_attempts": quizzes.passed_attempts(session, user, course),
        "final_score": final_score,
        "approvals": [a.id for a in approvals],
    }


def course_facts(session: Session, course: Course) -> CourseFacts:
    _, final_version = quizzes.get_bank(session, course, quizzes.FINAL)
    return CourseFacts(
        final_pass_mark=final_version.pass_mark,
        delivery_format=course.delivery_format,
        instructional_level=course.instructional_level,
        credit_basis=course.credit_basis,
        ce_hours=course.ce_hours,
        has_evaluation=bool(course.evaluation),
    )


@dataclass
class Credit:
    """Who the certificate is for and under which approvals, checked against their rules."""

    licence: Licence | None
    profession: str  # as printed
    profession_key: str
    state: str
    number: str
    approvals: list[Approval]
    final_score: float | None


def _credit(
    session: Session,
    user: User,
    course: Course,
    licence: Licence | None,
    *,
    completion: datetime,
    since: datetime | None = None,
) -> Credit:
    """Raises RequirementsUnmet when an approval that applies to this learner is not met."""
    if licence is not None:
        profession, key = label(licence.profession), licence.profession
        state, number = licence.state, licence.number
    else:
        profession, key = user.profession, key_for(user.profession)
        state, number = user.license_state, user.license_number
    approvals = applicable(approvals_of(course.approvals), key, state, completion.date())
    score = quizzes.best_final_score(session, user, course, since=since)
    failures = learner_rule_failures(
        approvals,
        course_facts(session, course) if approvals else _NO_FACTS,
        final_score=score,
        evaluation_submitted=quizzes.has_evaluation(session, user, course),
    )
    if failures:
        raise RequirementsUnmet(
            "the certificate cannot be issued under the course's accreditation rules",
            missing=failures,
        )
    return Credit(licence, profession, key, state, number, approvals, score)


_NO_FACTS = CourseFacts(1.0, "-", "-", "-", 0.0, True)  # unused: no approval applies


def approval_lines(approvals: list[dict[str, Any]]) -> list[str]:
    """The statements a certificate prints: each approval's exact text and the credit it gives."""
    lines = []
    for raw in approvals:
        approval = Approval.from_json(raw)
        lines.append(
            f"{approval.statement} ({approval.display_body} {approval.number}: "
            f"{approval.credit_amount:g} {approval.credit_type})"
        )
    return lines


def _new_row(
    user: User,
    course: Course,
    credit: Credit,
    *,
    generation: int,
    completion: datetime,
    now: datetime,
    prefix: str,
) -> Certificate:
    assert user.id is not None and course.id is not None  # noqa: S101
    return Certificate(
        code=codes.new_code(prefix),
        user_id=user.id,
        course_id=course.id,
        generation=generation,
        learner_name=user.full_name,
        profession=credit.profession,
        profession_key=credit.profession_key,
        license_state=credit.state,
        license_number=credit.number,
        licence_id=credit.licence.id if credit.licence else None,
        approvals=[a.to_json() for a in credit.approvals],
        course_title=course.title,
        content_version=str(course.version),
        ce_hours=course.ce_hours,
        completion_date=completion.date(),
        issued_at=now.replace(microsecond=0),
        expires_at=(
            _add_months(now.replace(microsecond=0), course.certificate_validity_months)
            if course.certificate_validity_months
            else None
        ),
    )


def _insert(session: Session, row: Certificate) -> bool:
    """Inserts in a savepoint; False when (user, course, generation) is taken (a racing claim)."""
    for _ in range(5):
        try:
            with session.begin_nested():
                session.add(row)
            return True
        except IntegrityError:
            # The code might collide (1 in 30^8): draw another; a generation clash is final.
            taken = session.exec(
                select(Certificate.id).where(
                    Certificate.user_id == row.user_id,
                    Certificate.course_id == row.course_id,
                    Certificate.generation == row.generation,
                )
            ).first()
            if taken is not None:
                return False
            row.code = codes.new_code(row.code.split("-")[0])
    raise Conflict("could not allocate a certificate code; try again")


def issue_certificate(
    session: Session,
    user: User,
    course: Course,
    *,
    now: datetime,
    settings: Settings,
    licence_id: int | None = None,
) -> tuple[Certificate, bool]:
    """The learner's certificate, issued once: (certificate, created). Raises RequirementsUnmet
    listing what is missing, including accreditation rules not met under the approvals that
    apply to the chosen licence (LicenceChoiceNeeded when several licences could apply)."""
    existing = find_active(session, user, course)
    if existing is not None:
        return existing, False
    missing = missing_requirements(session, user, course)
    if missing:
        raise RequirementsUnmet("the certificate needs every requirement met", missing=missing)
    licence = licences.choose_for_claim(session, user, licence_id, today=now.date())
    completion = quizzes.completed_at(session, user, course) or now
    credit = _credit(session, user, course, licence, completion=completion)
    row = _new_row(
        user,
        course,
        credit,
        generation=1,
        completion=completion,
        now=now,
        prefix=settings.certificate_code_prefix,
    )
    if not _insert(session, row):
        found = find_active(session, user, course)
        assert found is not None  # noqa: S101
        return found, False
    _finish(session, row, user, course, credit, settings, now=now, event="certificate.issue")
    return row, True


def _finish(
    session: Session,
    row: Certificate,
    user: User,
    course: Course,
    credit: Credit,
    settings: Settings,
    *,
    now: datetime,
    event: str,
    extra: dict[str, Any] | None = None,
) -> None:
    row.credit_basis = _credit_basis(
        session, user, course, final_score=credit.final_score, approvals=credit.approvals
    )
    _sign(session, row, user.uuid, course, settings)
    session.add(row)
    session.flush()
    audit.record(
        session,
        event,
        row.code,
        {
            "user_id": user.id,
            "course": course.slug,
            "version": row.content_version,
            "approvals": [a.id for a in credit.approvals],
            "token_sha256": signing_digest(row.token),
            **(extra or {}),
        },
        actor_id=user.id,
        now=now,
    )


@dataclass
class Renewal:
    """Where a learner stands in renewing a certificate before (or after) it expires."""

    certificate: Certificate
    expires_at: datetime
    opens_at: datetime  # renewal opens this many days before expiry (the reminder window)
    is_open: bool
    final_passed: bool  # a passing final exam submitted since renewal opened

    @property
    def ready(self) -> bool:
        return self.is_open and self.final_passed


def renewal_status(
    session: Session, user: User, course: Course, *, now: datetime, settings: Settings
) -> Renewal | None:
    """None when the learner has no current certificate that expires."""
    cert = find_active(session, user, course)
    if cert is None or cert.expires_at is None or cert.revoked_at is not None:
        return None
    expires = as_utc(cert.expires_at)
    opens = expires - timedelta(days=settings.expiry_reminder_days)
    return Renewal(
        certificate=cert,
        expires_at=expires,
        opens_at=opens,
        is_open=now >= opens,
        final_passed=quizzes.best_final_score(session, user, course, since=opens) is not None,
    )


def renew_certificate(
    session: Session,
    user: User,
    course: Course,
    *,
    now: datetime,
    settings: Settings,
    licence_id: int | None = None,
) -> Certificate:
    """A renewed certificate after the learner passed the current final exam again inside the
    renewal window (which opens `expiry_reminder_days` before expiry); it supersedes the old
    one and starts a new validity period."""
    status = renewal_status(session, user, course, now=now, settings=settings)
    if status is None:
        raise RequirementsUnmet(
            "there is no current certificate to renew; claim one instead",
            missing=["a current certificate of this course"],
        )
    if not status.ready:
        missing = []
        if not status.is_open:
            missing.append(f"renewal opens on {status.opens_at.date().isoformat()}")
        if not status.final_passed:
            missing.append("pass the final exam again (its current version)")
        raise RequirementsUnmet("the certificate cannot be renewed yet", missing=missing)
    old = status.certificate
    licence = licences.choose_for_claim(session, user, licence_id, today=now.date())
    completion = quizzes.completed_at(session, user, course) or now
    credit = _credit(session, user, course, licence, completion=completion, since=status.opens_at)
    row = _new_row(
        user,
        course,
        credit,
        generation=old.generation + 1,
        completion=completion,
        now=now,
        prefix=settings.certificate_code_prefix,
    )
    if not _insert(session, row):
        raise Conflict("this certificate was renewed already")
    _finish(
        session,
        row,
        user,
        course,
        credit,
        settings,
        now=now,
        event="certificate.renew",
        extra={"renews": old.code},
    )
    old.superseded_by_id = row.id
    session.add(old)
    session.flush()
    return row


def signing_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_certificate(session: Session, code: str) -> Certificate:
    """The certificate with this code (any spelling normalize_code accepts); raises NotFound."""
    normal = codes.normalize_code(code)
    cert = (
        session.exec(select(Certificate).where(Certificate.code == normal)).first()
        if normal
        else None
    )
    if cert is None:
        raise CertificateNotFound(f"no certificate {code!r}")
    return cert


def status_of(cert: Certificate, *, now: datetime) -> str:
    if cert.revoked_at is not None:
        return REVOKED
    if cert.superseded_by_id is not None:
        return SUPERSEDED
    if cert.expires_at is not None and as_utc(cert.expires_at) <= now:
        return EXPIRED
    return VALID


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment else None


def public_record(session: Session, cert: Certificate, *, now: datetime) -> CertificateOut:
    """What anyone may see about a certificate: never the email or licence number."""
    successor = session.get(Certificate, cert.superseded_by_id) if cert.superseded_by_id else None
    return CertificateOut(
        code=cert.code,
        status=status_of(cert, now=now),
        learner_name=cert.learner_name,
        course_title=cert.course_title,
        ce_hours=cert.ce_hours,
        issued_at=_iso(cert.issued_at) or "",
        expires_at=_iso(cert.expires_at),
        completion_date=cert.completion_date.isoformat(),
        content_version=cert.content_version,
        profession=cert.profession,
        license_state=cert.license_state,
        revoked_at=_iso(cert.revoked_at),
        revocation_reason=cert.revocation_reason or None,
        superseded_by=successor.code if successor else None,
    )


def _code_from_credential(credential: dict[str, Any]) -> str:
    return str(credential.get("id", "")).rstrip("/").rsplit("/", 1)[-1]


def _load_by_code(session: Session, codes_: set[str]) -> dict[str, Certificate]:
    """Certificates with these codes and, in the same session, their successors (one query each),
    so verifying a batch costs two queries, not two per item."""
    if not codes_:
        return {}
    found = {
        c.code: c
        for c in session.exec(select(Certificate).where(col(Certificate.code).in_(codes_)))
    }
    successors = {c.superseded_by_id for c in found.values() if c.superseded_by_id}
    if successors:
        session.exec(select(Certificate).where(col(Certificate.id).in_(successors))).all()
    return found


def _verdict(
    session: Session,
    check: signing.Verification,
    *,
    now: datetime,
    known: dict[str, Certificate] | None = None,
) -> VerifyOut:
    if check.credential is None or (not check.valid and not check.expired):
        return VerifyOut(valid=False, status=INVALID, reason=check.reason)
    code = _code_from_credential(check.credential)
    if known is None:
        known = _load_by_code(session, {code})
    cert = known.get(code)
    if cert is None:
        return VerifyOut(
            valid=False, status=INVALID, reason="signed by this issuer but not in its records"
        )
    record = public_record(session, cert, now=now)
    if check.expired:
        return VerifyOut(
            valid=False,
            status=EXPIRED,
            reason="the certificate has expired",
            certificate=record,
            credential=check.credential,
        )
    reasons = {
        VALID: "signature valid; the certificate is current",
        REVOKED: f"revoked: {cert.revocation_reason}",
        SUPERSEDED: f"superseded by certificate {record.superseded_by}",
        EXPIRED: "the certificate has expired",
    }
    return VerifyOut(
        valid=record.status == VALID,
        status=record.status,
        reason=reasons[record.status],
        certificate=record,
        credential=check.credential,
    )


def _anonymised(session: Session, cert: Certificate, *, now: datetime) -> VerifyOut:
    """A record kept past its retention period for a deleted account: the name and the signed
    token are erased, so only the course, dates and status can be confirmed."""
    record = public_record(session, cert, now=now)
    return VerifyOut(
        valid=False,
        status=record.status if record.status != VALID else EXPIRED,
        reason=(
            "this record was anonymised after the retention period (the learner deleted the "
            "account); the learner's own copy of the certificate can still be verified"
        ),
        certificate=record,
    )


def verify_token(session: Session, token: str, *, now: datetime, settings: Settings) -> VerifyOut:
    """Checks the signature against our published keys, then the certificate's current status."""
    return verify_items(session, [token], now=now, settings=settings)[0][1]


def verify_code(session: Session, code: str, *, now: datetime, settings: Settings) -> VerifyOut:
    """Looks a code up and checks its stored token too (a tampered row does not verify)."""
    return verify_items(session, [code], now=now, settings=settings)[0][1]


def verify_items(
    session: Session, items: list[str], *, now: datetime, settings: Settings
) -> list[tuple[str, VerifyOut]]:
    """Each item is a code or a token, answered in order. A code is checked through its stored
    token, so an edited row does not verify either."""
    keys = jwks(settings)
    texts = [item.strip() for item in items]
    wanted = {c for t in texts if t.count(".") != 2 and (c := codes.normalize_code(t))}
    stored = _load_by_code(session, wanted)
    checks: list[signing.Verification | Certificate | str] = []
    for text in texts:
        if text.count(".") == 2:
            checks.append(signing.verify_token(text, keys, now=now))
            continue
        normal = codes.normalize_code(text)
        cert = stored.get(normal) if normal else None
        if cert is None:
            checks.append(f"no certificate {text!r}")
        elif not cert.token:
            checks.append(cert)  # anonymised after the retention period: no token kept
        else:
            checks.append(signing.verify_token(cert.token, keys, now=now))
    signed = {
        _code_from_credential(c.credential)
        for c in checks
        if isinstance(c, signing.Verification) and c.credential is not None
    }
    known = {**stored, **_load_by_code(session, signed - set(stored))}
    results = []
    for item, check in zip(items, checks, strict=True):
        if isinstance(check, str):
            results.append((item, VerifyOut(valid=False, status=INVALID, reason=check)))
        elif isinstance(check, Certificate):
            results.append((item, _anonymised(session, check, now=now)))
        else:
            results.append((item, _verdict(session, check, now=now, known=known)))
    return results


def verify_pdf(session: Session, data: bytes, *, now: datetime, settings: Settings) -> VerifyOut:
    """A certificate file alone: its embedded token, the page text, then its current status."""
    if not data.startswith(b"%PDF"):
        raise UnreadableDocument("this file is not a PDF")
    return _verdict(session, pdf.check_pdf(data, jwks(settings), now=now), now=now)


def revoke(session: Session, admin: User, code: str, reason: str, *, now: datetime) -> Certificate:
    """Revokes once (raises AlreadyRevoked); the status list shows it from now on."""
    cert = get_certificate(session, code)
    if cert.revoked_at is not None:
        raise AlreadyRevoked(f"certificate {cert.code} was already revoked")
    cert.revoked_at = now
    cert.revocation_reason = reason.strip()
    session.add(cert)
    session.flush()
    audit.record(
        session,
        "certificate.revoke",
        cert.code,
        {"reason": cert.revocation_reason},
        actor_id=admin.id,
        now=now,
    )
    return cert


def reissue(
    session: Session, admin: User, code: str, *, now: datetime, settings: Settings
) -> Certificate:
    """A new certificate with the learner's current details; the old one names its successor."""
    old = get_certificate(session, code)
    if old.superseded_by_id is not None or old.revoked_at is not None:
        raise Conflict(f"certificate {old.code} is no longer current and cannot be reissued")
    user = session.get(User, old.user_id) if old.user_id else None
    course = session.get(Course, old.course_id)
    if user is None or course is None:
        raise Conflict("the learner's account no longer exists")
    # Same credit as before (licence and approvals as claimed); the learner's current name.
    credit = Credit(
        licence=session.get(Licence, old.licence_id) if old.licence_id else None,
        profession=old.profession,
        profession_key=old.profession_key,
        state=old.license_state,
        number=old.license_number,
        approvals=approvals_of(old.approvals),
        final_score=old.credit_basis.get("final_score"),
    )
    row = _new_row(
        user,
        course,
        credit,
        generation=old.generation + 1,
        completion=datetime.combine(old.completion_date, datetime.min.time(), tzinfo=now.tzinfo),
        now=now,
        prefix=settings.certificate_code_prefix,
    )
    if not _insert(session, row):
        raise Conflict("this certificate was reissued already")
    row.credit_basis = old.credit_basis
    _sign(session, row, user.uuid, course, settings)
    session.add(row)
    session.flush()
    old.superseded_by_id = row.id
    session.add(old)
    session.flush()
    audit.record(
        session,
        "certificate.reissue",
        row.code,
        {"supersedes": old.code},
        actor_id=admin.id,
        now=now,
    )
    return row


def certificates_of(session: Session, user: User) -> list[Certificate]:
    return list(
        session.exec(
            select(Certificate)
            .where(Certificate.user_id == user.id)
            .order_by(col(Certificate.issued_at).desc())
        )
    )


@dataclass
class Transcript:
    certificates: list[Certificate]
    total_ce_hours: float


def transcript(session: Session, user: User, *, now: datetime) -> Transcript:
    """Every current certificate of the learner and their CE hours (revoked/superseded excluded)."""
    current = [
        c for c in certificates_of(session, user) if status_of(c, now=now) in (VALID, EXPIRED)
    ]
    return Transcript(current, round(sum(c.ce_hours for c in current), 2))


def all_certificates(session: Session, *, limit: int = 500) -> list[Certificate]:
    return list(
        session.exec(select(Certificate).order_by(col(Certificate.issued_at).desc()).limit(limit))
    )


def status_list_token(session: Session, *, now: datetime, settings: Settings) -> str:
    """The signed BitstringStatusListCredential (revocation) that credentials point at."""
    revoked = [
        i
        for i in session.exec(
            select(Certificate.id).where(col(Certificate.revoked_at).is_not(None))
        ).all()
        if i is not None
    ]
    size = max(status_list.MIN_SIZE, (max(revoked, default=0) // 8 + 1) * 8)
    url = f"{settings.public_base_url}{STATUS_LIST_PATH}"
    credential = status_list.build_status_list_credential(
        base_url=settings.public_base_url,
        list_url=url,
        issuer_name=settings.site_name,
        encoded_list=status_list.encode_status_list(revoked, size),
        valid_from=now.replace(microsecond=0),
    )
    store = keystore(settings)
    store.ensure()
    return signing.sign_credential(
        credential, store.current(), base_url=settings.public_base_url, issued_at=now
    )


def certificate_view(cert: Certificate, course: Course | None) -> pdf.CertificateView:
    # The approvals that applied to this learner's licence when the credit was earned; without
    # any, the provider's general statement.
    statements = approval_lines(cert.approvals)
    if not statements and course and course.accreditation_statement:
        statements = [course.accreditation_statement]
    return pdf.CertificateView(
        learner_name=cert.learner_name,
        profession=cert.profession,
        license_state=cert.license_state,
        course_title=cert.course_title,
        content_version=cert.content_version,
        ce_hours=cert.ce_hours,
        delivery_format=course.delivery_format if course else "",
        instructional_level=course.instructional_level if course else "",
        completion_date=cert.completion_date,
        provider_name=course.provider_name if course else "",
        accreditation_statements=statements,
        code=cert.code,
        issued_at=as_utc(cert.issued_at).date(),
        expires_at=as_utc(cert.expires_at).date() if cert.expires_at else None,
        verify_url=str(cert.credential.get("id", "")),
    )


def render_pdf(session: Session, cert: Certificate) -> bytes:
    course = session.get(Course, cert.course_id)
    return pdf.render_certificate_pdf(
        certificate_view(cert, course), token=cert.token, template_dir=TEMPLATE_DIR
    )


def can_see_private(viewer: User, cert: Certificate) -> bool:
    """The learner and admins see the PDF, the credential and the licence number."""
    return viewer.id == cert.user_id or viewer.role == Role.admin
