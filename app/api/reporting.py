"""/api/v1/admin/...: CE Broker roster exports, the annual activity summary, certificate ZIPs
(admin role only)."""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.core.clock import utcnow
from app.core.deps import ApiAdmin, SessionDep, SettingsDep
from app.core.downloads import attachment
from app.reporting import service as reporting
from app.reporting.schemas import (
    AnnualActivityOut,
    ExportOut,
    ExportSummaryOut,
    MarkReportedIn,
    RosterPreviewOut,
)

router = APIRouter(prefix="/admin", tags=["reporting"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such course (or export)"}}
Year = Annotated[int, Query(ge=1900, le=9999, description="calendar year; default this year")]


@router.get("/courses/{slug}/cebroker/preview", responses=NOT_FOUND)
def cebroker_preview(slug: str, _admin: ApiAdmin, session: SessionDep) -> RosterPreviewOut:
    """The rows an export would report now and the certificates skipped (with why); nothing
    is written."""
    return reporting.preview(session, reporting.get_course(session, slug))


@router.post(
    "/courses/{slug}/cebroker/exports",
    status_code=201,
    responses={
        **NOT_FOUND,
        409: {"description": "roster changed since the preview, nothing new, or a racing export"},
    },
)
def cebroker_mark_reported(
    slug: str, body: MarkReportedIn, admin: ApiAdmin, session: SessionDep, settings: SettingsDep
) -> ExportOut:
    """Marks the previewed roster (named by its digest) reported and stores its workbook."""
    course = reporting.get_course(session, slug)
    export = reporting.mark_reported(
        session, admin, course, body.digest, now=utcnow(), creator=settings.site_name
    )
    session.commit()
    return reporting.export_detail(session, course, export)


@router.get("/courses/{slug}/cebroker/exports", responses=NOT_FOUND)
def cebroker_exports(slug: str, _admin: ApiAdmin, session: SessionDep) -> list[ExportSummaryOut]:
    return reporting.list_exports(session, reporting.get_course(session, slug))


@router.get("/courses/{slug}/cebroker/exports/{export_id}", responses=NOT_FOUND)
def cebroker_export(slug: str, export_id: int, _admin: ApiAdmin, session: SessionDep) -> ExportOut:
    course = reporting.get_course(session, slug)
    return reporting.export_detail(
        session, course, reporting.get_export(session, course, export_id)
    )


@router.get(
    "/courses/{slug}/cebroker/exports/{export_id}/roster.xlsx",
    response_class=Response,
    responses={
        **NOT_FOUND,
        200: {"content": {reporting.XLSX: {}}, "description": "the workbook as sent"},
    },
)
def cebroker_export_file(
    slug: str, export_id: int, _admin: ApiAdmin, session: SessionDep
) -> Response:
    """The export's workbook, byte for byte as it was first generated."""
    export = reporting.get_export(session, reporting.get_course(session, slug), export_id)
    return attachment(reporting.roster_file(export))


@router.get("/reports/annual-activity")
def annual_activity(
    _admin: ApiAdmin, session: SessionDep, year: Year | None = None
) -> AnnualActivityOut:
    return reporting.annual_activity(session, year or utcnow().year)


@router.get(
    "/reports/annual-activity.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the summary as CSV"}},
)
def annual_activity_csv(
    _admin: ApiAdmin, session: SessionDep, year: Year | None = None
) -> Response:
    report = reporting.annual_activity(session, year or utcnow().year)
    return attachment(reporting.annual_activity_file(report))


@router.get(
    "/courses/{slug}/certificates.zip",
    response_class=Response,
    responses={
        **NOT_FOUND,
        200: {"content": {"application/zip": {}}, "description": "PDFs and manifest.csv"},
        422: {"description": "no such part"},
    },
)
def certificates_zip(
    slug: str,
    _admin: ApiAdmin,
    session: SessionDep,
    part: Annotated[int, Query(ge=1, description="ZIP part; see X-Parts-Total")] = 1,
) -> Response:
    """Every certificate of the course as PDFs plus manifest.csv, in parts of
    reporting.ZIP_PART_SIZE certificates."""
    course = reporting.get_course(session, slug)
    return attachment(reporting.certificates_zip(session, course, part=part, now=utcnow()))
