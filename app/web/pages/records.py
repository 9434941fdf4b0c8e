"""/account/data.json (download everything held about you) and /account/delete."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.accounts.models import Role
from app.certificates.accreditation import RETENTION_YEARS
from app.core.clock import utcnow
from app.core.deps import SESSION_COOKIE, SessionDep, WebUser
from app.core.errors import DomainError
from app.records import service as records
from app.web.templating import render

router = APIRouter()


@router.get("/account/data.json")
def data_download(session: SessionDep, user: WebUser) -> Response:
    now = utcnow()
    export = records.export_user_data(session, user, now=now)
    name = f"clinician-ce-data-{now.date().isoformat()}.json"
    return Response(
        export.model_dump_json(indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _confirm(
    request: Request, user: WebUser, status: int = 200, error: str | None = None
) -> Response:
    return render(
        request,
        "records/delete.html",
        status,
        errors={"password": error} if error else {},
        is_admin=user.role == Role.admin,
        retention_years=RETENTION_YEARS,
    )


@router.get("/account/delete", response_class=HTMLResponse)
def delete_page(request: Request, user: WebUser) -> Response:
    return _confirm(request, user)


@router.post("/account/delete", response_class=HTMLResponse)
def delete_account(
    request: Request,
    session: SessionDep,
    user: WebUser,
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    if not password:
        return _confirm(request, user, 422, "enter your password to delete your account")
    try:
        records.delete_account(session, user, password=password, now=utcnow())
    except DomainError as exc:
        return _confirm(request, user, exc.status_code, exc.detail)
    session.commit()
    response = render(
        request, "records/deleted.html", current_user=None, retention_years=RETENTION_YEARS
    )
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
