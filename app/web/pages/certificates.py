"""Certificate pages: claim, PDF, printable view, wallet JSON, transcript, public verify, admin."""

import csv
import io
import json
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.certificates import service as certificates
from app.certificates.errors import RequirementsUnmet, UnreadableDocument
from app.certificates.models import Certificate
from app.core.clock import utcnow
from app.core.deps import OptionalWebUser, SessionDep, SettingsDep, WebAdmin, WebUser
from app.core.errors import DomainError, NotFound
from app.courses import service as courses
from app.courses.models import Course
from app.licences.errors import LicenceChoiceNeeded, LicenceNotFound
from app.web.pages.learning import render_course_page
from app.web.templating import render

router = APIRouter()
MAX_PDF_BYTES = 5 * 1024 * 1024


def _own(session: SessionDep, user: WebUser, code: str) -> Certificate:
    cert = certificates.get_certificate(session, code.removesuffix(".pdf").removesuffix(".json"))
    if not certificates.can_see_private(user, cert):
        raise NotFound(f"no certificate {code!r}")  # do not confirm that it exists
    return cert


def _licence_id(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise LicenceNotFound("choose one of your licences")
    return int(raw)


def _claim(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebUser,
    slug: str,
    licence_id: str,
    *,
    renew: bool,
) -> Response:
    course = courses.get_course(session, slug, viewer=user)
    now = utcnow()
    try:
        chosen = _licence_id(licence_id)
        if renew:
            cert = certificates.renew_certificate(
                session, user, course, now=now, settings=settings, licence_id=chosen
            )
        else:
            cert, _ = certificates.issue_certificate(
                session, user, course, now=now, settings=settings, licence_id=chosen
            )
    except (RequirementsUnmet, LicenceChoiceNeeded, LicenceNotFound) as exc:
        session.rollback()
        problems = [str(p) for p in exc.extra.get("missing", [])]
        return render_course_page(
            request,
            session,
            settings,
            user,
            course,
            exc.status_code,
            claim_error=exc.detail,
            claim_problems=problems,
        )
    session.commit()
    return RedirectResponse(f"/certificates/{cert.code}", status_code=303)


@router.post("/courses/{slug}/certificate")
def claim(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebUser,
    slug: str,
    licence_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    return _claim(request, session, settings, user, slug, licence_id, renew=False)


@router.post("/courses/{slug}/certificate/renewal")
def renew(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebUser,
    slug: str,
    licence_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    return _claim(request, session, settings, user, slug, licence_id, renew=True)


@router.get("/certificates/{code}.pdf")
def certificate_pdf(session: SessionDep, user: WebUser, code: str) -> Response:
    cert = _own(session, user, code)
    return Response(
        certificates.render_pdf(session, cert),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="certificate-{cert.code}.pdf"'},
    )


@router.get("/certificates/{code}.json")
def certificate_json(session: SessionDep, user: WebUser, code: str) -> Response:
    """The signed credential for digital wallets (the VC-JWT) and its decoded payload."""
    cert = _own(session, user, code)
    body = {"credential": cert.credential, "proof": {"type": "vc+jwt", "jwt": cert.token}}
    return Response(
        json.dumps(body, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="credential-{cert.code}.json"'},
    )


@router.get("/certificates/{code}", response_class=HTMLResponse)
def certificate_page(request: Request, session: SessionDep, user: WebUser, code: str) -> Response:
    cert = _own(session, user, code)
    record = certificates.public_record(session, cert, now=utcnow())
    view = certificates.certificate_view(cert, session.get(Course, cert.course_id))
    return render(request, "certificates/certificate.html", cert=cert, record=record, view=view)


@router.get("/transcript", response_class=HTMLResponse)
def transcript_page(request: Request, session: SessionDep, user: WebUser) -> Response:
    record = certificates.transcript(session, user, now=utcnow())
    return render(request, "certificates/transcript.html", transcript=record)


@router.get("/transcript.csv")
def transcript_csv(session: SessionDep, user: WebUser) -> Response:
    record = certificates.transcript(session, user, now=utcnow())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["code", "course", "version", "ce_hours", "completion_date", "issued_at", "expires_at"]
    )
    for c in record.certificates:
        writer.writerow(
            [
                c.code,
                c.course_title,
                c.content_version,
                c.ce_hours,
                c.completion_date.isoformat(),
                c.issued_at.date().isoformat(),
                c.expires_at.date().isoformat() if c.expires_at else "",
            ]
        )
    writer.writerow(["total", "", "", record.total_ce_hours, "", "", ""])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="transcript.csv"'},
    )


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, _user: OptionalWebUser) -> Response:
    return render(request, "certificates/verify.html", result=None, error=None)


@router.post("/verify", response_class=HTMLResponse)
def verify_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _user: OptionalWebUser,
    code_or_token: Annotated[str, Form(max_length=65536)] = "",
    document: Annotated[UploadFile | None, File()] = None,
) -> Response:
    now = utcnow()
    text = code_or_token.strip()
    try:
        if document is not None and document.filename:
            data = document.file.read(MAX_PDF_BYTES + 1)
            if len(data) > MAX_PDF_BYTES:
                raise UnreadableDocument("the file is larger than 5 MB")
            result = certificates.verify_pdf(session, data, now=now, settings=settings)
        elif text.count(".") == 2:
            result = certificates.verify_token(session, text, now=now, settings=settings)
        elif text:
            return RedirectResponse(f"/verify/{text.upper().replace(' ', '')}", status_code=303)
        else:
            return render(
                request,
                "certificates/verify.html",
                422,
                result=None,
                error="Enter a certificate code, paste a token, or choose a PDF.",
            )
    except DomainError as exc:
        return render(
            request, "certificates/verify.html", exc.status_code, result=None, error=exc.detail
        )
    return render(request, "certificates/verify.html", result=result, error=None)


@router.get("/verify/{code}", response_class=HTMLResponse)
def verify_code_page(
    request: Request, session: SessionDep, settings: SettingsDep, _user: OptionalWebUser, code: str
) -> Response:
    result = certificates.verify_code(session, code, now=utcnow(), settings=settings)
    status = 404 if result.certificate is None and "no certificate" in result.reason else 200
    return render(request, "certificates/verify.html", status, result=result, error=None, code=code)


@router.get("/admin/certificates", response_class=HTMLResponse)
def admin_certificates(request: Request, session: SessionDep, _admin: WebAdmin) -> Response:
    now = utcnow()
    rows = [(c, certificates.status_of(c, now=now)) for c in certificates.all_certificates(session)]
    return render(request, "certificates/admin.html", rows=rows, message=None)


@router.post("/admin/certificates/{code}/revoke", response_class=HTMLResponse)
def admin_revoke(
    session: SessionDep,
    admin: WebAdmin,
    code: str,
    reason: Annotated[str, Form(min_length=3, max_length=500)],
) -> Response:
    certificates.revoke(session, admin, code, reason, now=utcnow())
    session.commit()
    return RedirectResponse(f"/verify/{code}", status_code=303)


@router.post("/admin/certificates/{code}/reissue", response_class=HTMLResponse)
def admin_reissue(
    session: SessionDep, settings: SettingsDep, admin: WebAdmin, code: str
) -> Response:
    cert = certificates.reissue(session, admin, code, now=utcnow(), settings=settings)
    session.commit()
    return RedirectResponse(f"/verify/{cert.code}", status_code=303)
