"""Jinja2 environment for pages, and the one render() every page uses."""

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.accounts.models import Role

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
templates.env.globals["Role"] = Role


def render(
    request: Request, template: str, status_code: int = 200, /, **context: Any
) -> HTMLResponse:
    # Set by the auth dependencies when the page asked who is signed in.
    found = getattr(request.state, "web_session", None)
    user = found[1] if found and not found[0].is_mfa_pending else None
    context.setdefault("current_user", user)
    context["csrf_token"] = request.scope.get("state", {}).get("csrf_token", "")
    context["site_name"] = request.app.state.settings.site_name
    context["is_htmx"] = request.headers.get("HX-Request") == "true"
    return templates.TemplateResponse(request, template, context, status_code=status_code)
