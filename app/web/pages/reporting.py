"""Admin report pages: CE Broker roster exports, the annual activity summary, certificate ZIPs."""

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.core.clock import utcnow
from app.core.deps import SessionDep, SettingsDep, WebAdmin
from app.core.downloads import attachment
from app.core.errors import Conflict
from app.courses.models import Course
from app.reporting import cebroker
from app.reporting import service as reporting
from app.web.templating import render

router = APIRouter(prefix="/admin/reporting")
Year = Annotated[int | None, Query(ge=1900, le=9999)]


@router.get("", response_class=HTMLResponse)
def reporting_home(request: Request, session: SessionDep, _admin: WebAdmin) -> Response:
    courses = reporting.list_courses(session)
    return render(
        request,
        "reporting/index.html",
        courses=[(c, reporting.zip_parts(session, c)) for c in courses],
        year=utcnow().year,
        part_size=reporting.ZIP_PART_SIZE,
    )


def _cebroker_page(
    request: Request,
    session: SessionDep,
    course: Course,
    *,
    status: int = 200,
    error: str | None = None,
    exported: int | None = None,
) -> Response:
    return render(
        request,
        "reporting/cebroker.html",
        status,
        course=course,
        preview=reporting.preview(session, course),
        exports=reporting.list_exports(session, course),
        columns=cebroker.COLUMNS,
        error=error,
        exported=exported,
    )


@router.get("/courses/{slug}/cebroker", response_class=HTMLResponse)
def cebroker_page(
    request: Request,
    session: SessionDep,
    _admin: WebAdmin,
    slug: str,
    exported: int | None = None,
) -> Response:
    course = reporting.get_course(session, slug)
    return _cebroker_page(request, session, course, exported=exported)


@router.post("/courses/{slug}/cebroker/exports", response_class=HTMLResponse)
def cebroker_mark_reported(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: WebAdmin,
    slug: str,
    digest: Annotated[str, Form(min_length=64, max_length=64)],
) -> Response:
    course = reporting.get_course(session, slug)
    try:
        export = reporting.mark_reported(
            session, admin, course, digest, now=utcnow(), creator=settings.site_name
        )
    except Conflict as exc:
        # Show the roster as it is now, with why nothing was marked.
        session.rollback()
        return _cebroker_page(request, session, course, status=409, error=exc.detail)
    session.commit()
    return RedirectResponse(
        f"/admin/reporting/courses/{course.slug}/cebroker?exported={export.id}", status_code=303
    )


@router.get("/courses/{slug}/cebroker/exports/{export_id}", response_class=HTMLResponse)
def cebroker_export_page(
    request: Request, session: SessionDep, _admin: WebAdmin, slug: str, export_id: int
) -> Response:
    course = reporting.get_course(session, slug)
    export = reporting.get_export(session, course, export_id)
    return render(
        request,
        "reporting/export.html",
        course=course,
        export=reporting.export_detail(session, course, export),
        columns=cebroker.COLUMNS,
    )


@router.get("/courses/{slug}/cebroker/exports/{export_id}/roster.xlsx")
def cebroker_export_file(
    session: SessionDep, _admin: WebAdmin, slug: str, export_id: int
) -> Response:
    export = reporting.get_export(session, reporting.get_course(session, slug), export_id)
    return attachment(reporting.roster_file(export))


@router.get("/annual-activity", response_class=HTMLResponse)
def annual_activity_page(
    request: Request, session: SessionDep, _admin: WebAdmin, year: Year = None
) -> Response:
    report = reporting.annual_activity(session, year or utcnow().year)
    return render(request, "reporting/annual.html", report=report)


@router.get("/annual-activity.csv")
def annual_activity_csv(session: SessionDep, _admin: WebAdmin, year: Year = None) -> Response:
    report = reporting.annual_activity(session, year or utcnow().year)
    return attachment(reporting.annual_activity_file(report))


@router.get("/courses/{slug}/certificates.zip")
def certificates_zip(
    session: SessionDep,
    _admin: WebAdmin,
    slug: str,
    part: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    course = reporting.get_course(session, slug)
    return attachment(reporting.certificates_zip(session, course, part=part, now=utcnow()))
