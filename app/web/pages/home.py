"""Catalog home page and the learner dashboard."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.core.deps import OptionalWebUser, WebUser
from app.web.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def catalog(request: Request, _user: OptionalWebUser) -> Response:
    return render(request, "home/catalog.html", courses=[], query="")


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, _user: WebUser) -> Response:
    return render(request, "home/dashboard.html", enrollments=[])
