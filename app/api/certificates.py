"""Certificates: claiming (learner), the learner's own records, and public verification."""

from fastapi import APIRouter, Response, status

from app.certificates import service as certificates
from app.certificates.models import Certificate
from app.certificates.schemas import (
    BatchIn,
    BatchItemOut,
    BatchOut,
    CertificateOut,
    ClaimIn,
    IssuedOut,
    RenewalOut,
    TranscriptOut,
    VerifyIn,
    VerifyOut,
)
from app.core.clock import utcnow
from app.core.deps import ApiUser, ReadSessionDep, SessionDep, SettingsDep
from app.core.settings import Settings
from app.courses import service as courses

router = APIRouter(tags=["certificates"])


def _issued(cert: Certificate, settings: Settings) -> IssuedOut:
    return IssuedOut(
        code=cert.code,
        token=cert.token,
        verify_url=certificates.verify_url(settings, cert.code),
        pdf_url=certificates.pdf_url(settings, cert.code),
    )


@router.post(
    "/courses/{slug}/certificate",
    status_code=status.HTTP_201_CREATED,
    responses={
        403: {"description": "requirements or accreditation rules unmet: {detail, missing}"},
        422: {"description": "several licences and none chosen: {detail, choices}"},
    },
)
def claim_certificate(
    slug: str,
    user: ApiUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    body: ClaimIn | None = None,
) -> IssuedOut:
    """Issues the certificate once (200 with the same one afterwards), for the chosen licence."""
    course = courses.get_course(session, slug, viewer=user)
    cert, created = certificates.issue_certificate(
        session,
        user,
        course,
        now=utcnow(),
        settings=settings,
        licence_id=body.licence_id if body else None,
    )
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return _issued(cert, settings)


@router.get("/courses/{slug}/certificate/renewal", responses={404: {"description": "no course"}})
def renewal_status(
    slug: str, user: ApiUser, session: SessionDep, settings: SettingsDep
) -> RenewalOut:
    """Whether the learner's current certificate can be renewed, and what is still needed."""
    course = courses.get_course(session, slug, viewer=user)
    renewal = certificates.renewal_status(session, user, course, now=utcnow(), settings=settings)
    if renewal is None:
        return RenewalOut(certificate=None)
    return RenewalOut(
        certificate=renewal.certificate.code,
        expires_at=renewal.expires_at.isoformat(),
        opens_at=renewal.opens_at.isoformat(),
        is_open=renewal.is_open,
        final_passed=renewal.final_passed,
        ready=renewal.ready,
    )


@router.post(
    "/courses/{slug}/certificate/renewal",
    status_code=status.HTTP_201_CREATED,
    responses={403: {"description": "not renewable yet: {detail, missing}"}},
)
def renew_certificate(
    slug: str,
    user: ApiUser,
    session: SessionDep,
    settings: SettingsDep,
    body: ClaimIn | None = None,
) -> IssuedOut:
    """A renewed certificate (superseding the current one) after the final exam is passed again
    inside the renewal window."""
    course = courses.get_course(session, slug, viewer=user)
    cert = certificates.renew_certificate(
        session,
        user,
        course,
        now=utcnow(),
        settings=settings,
        licence_id=body.licence_id if body else None,
    )
    session.commit()
    return _issued(cert, settings)


@router.get("/me/certificates")
def my_certificates(user: ApiUser, session: SessionDep) -> list[CertificateOut]:
    now = utcnow()
    return [
        certificates.public_record(session, c, now=now)
        for c in certificates.certificates_of(session, user)
    ]


@router.get("/me/transcript")
def my_transcript(user: ApiUser, session: SessionDep) -> TranscriptOut:
    now = utcnow()
    record = certificates.transcript(session, user, now=now)
    return TranscriptOut(
        learner_name=user.full_name,
        total_ce_hours=record.total_ce_hours,
        certificates=[certificates.public_record(session, c, now=now) for c in record.certificates],
    )


@router.get("/certificates/{code}", responses={404: {"description": "unknown code"}})
def certificate_status(code: str, session: SessionDep) -> CertificateOut:
    """Public: a certificate's status and what it certifies (no email, no licence number)."""
    cert = certificates.get_certificate(session, code)
    return certificates.public_record(session, cert, now=utcnow())


@router.post("/verify")
def verify(body: VerifyIn, session: ReadSessionDep, settings: SettingsDep) -> VerifyOut:
    """Public: checks a token's signature with the published keys, then its current status."""
    return certificates.verify_token(session, body.token, now=utcnow(), settings=settings)


@router.post("/verify/batch")
def verify_batch(body: BatchIn, session: ReadSessionDep, settings: SettingsDep) -> BatchOut:
    """Public: up to 100 codes or tokens, answered in the same order."""
    results = certificates.verify_items(session, body.items, now=utcnow(), settings=settings)
    return BatchOut(
        results=[
            BatchItemOut(
                item=item,
                valid=out.valid,
                status=out.status,
                reason=out.reason,
                certificate=out.certificate,
            )
            for item, out in results
        ]
    )
