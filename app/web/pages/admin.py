"""Administration pages (admin role only)."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.accounts import service as accounts
from app.core.deps import SessionDep, WebAdmin
from app.web.templating import render

router = APIRouter(prefix="/admin")


def _admin_page(request: Request, session: SessionDep, message: str | None = None) -> Response:
    return render(
        request,
        "admin/index.html",
        users=accounts.list_users(session),
        mfa_required=accounts.get_site_setting(session, accounts.MFA_REQUIRED_FOR_STAFF) == "true",
        message=message,
    )


@router.get("", response_class=HTMLResponse)
def admin_home(request: Request, session: SessionDep, _admin: WebAdmin) -> Response:
    return _admin_page(request, session)


@router.post("/settings", response_class=HTMLResponse)
def admin_settings(
    request: Request,
    session: SessionDep,
    _admin: WebAdmin,
    mfa_required: Annotated[bool, Form()] = False,
) -> Response:
    accounts.set_site_setting(
        session, accounts.MFA_REQUIRED_FOR_STAFF, "true" if mfa_required else "false"
    )
    session.commit()
    return _admin_page(request, session, message="Settings saved.")
