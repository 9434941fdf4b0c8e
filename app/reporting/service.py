"""Provider reports: the CE Broker roster and its ledger, the annual activity summary, and the
bulk download of a course's certificates. Admin-only; the entry points check the role."""

import csv
import hashlib
import io
import json
import math
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.audit import service as audit
from app.certificates import service as certificates
from app.certificates.accreditation import Approval
from app.certificates.models import Certificate
from app.core.clock import as_utc
from app.core.db import is_row_id
from app.core.downloads import Download
from app.courses.models import Course, CourseStatus
from app.licences import professions
from app.reporting import cebroker
from app.reporting.errors import (
    AlreadyReported,
    CourseNotFound,
    ExportNotFound,
    NothingToReport,
    PartOutOfRange,
    RosterChanged,
)
from app.reporting.models import CEBrokerExport, CEBrokerReport
from app.reporting.schemas import (
    AnnualActivityOut,
    ApprovalSummaryOut,
    CourseActivityOut,
    ExportOut,
    ExportSummaryOut,
    ProviderActivityOut,
    RosterPreviewOut,
    RosterRowOut,
    SkippedOut,
)

# Certificates per ZIP: each PDF is rendered on request (about 0.25 s and 22 KB), so a part
# stays under a minute and a few MB held in memory; bigger courses download in parts.
ZIP_PART_SIZE = 200
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MANIFEST_COLUMNS = (
    "code",
    "learner_name",
    "profession",
    "state",
    "licence_number",
    "completion_date",
    "issued_at",
    "expires_at",
    "status",
    "ce_hours",
    "file_name",
    "sha256",
)
ANNUAL_COLUMNS = (
    "year",
    "provider",
    "row_type",
    "course_slug",
    "course_title",
    "course_version",
    "status",
    "release_date",
    "expires_on",
    "available_in_year",
    "ce_hours",
    "credit_approvals",
    "completions",
    "hours_awarded",
)


def get_course(session: Session, slug: str) -> Course:
    """Any course, draft or published, by slug; raises CourseNotFound."""
    course = session.exec(select(Course).where(Course.slug == slug)).first()
    if course is None:
        raise CourseNotFound(f"no course {slug!r}")
    return course


def list_courses(session: Session) -> list[Course]:
    return list(session.exec(select(Course).order_by(col(Course.title))))


# --- CE Broker roster -------------------------------------------------------------------------


def _course_certificates(session: Session, course: Course) -> list[Certificate]:
    return list(
        session.exec(
            select(Certificate)
            .where(Certificate.course_id == course.id)
            .order_by(col(Certificate.id))
        )
    )


def _completions(certs: list[Certificate]) -> list[cebroker.Completion]:
    by_id = {c.id: c for c in certs}

    def reissued_as(cert: Certificate) -> str:
        # A reissue keeps the completion date and speaks for it; a renewal is a new completion,
        # so the certificate it superseded still stands for the earlier one.
        successor = by_id.get(cert.superseded_by_id) if cert.superseded_by_id else None
        if successor is not None and successor.completion_date == cert.completion_date:
            return successor.code
        return ""

    return [
        cebroker.Completion(
            certificate_id=c.id or 0,
            code=c.code,
            learner_name=c.learner_name,
            state=c.license_state,
            licence_number=c.license_number,
            profession_key=c.profession_key,
            completion_date=c.completion_date,
            approvals=list(c.approvals or []),
            is_revoked=c.revoked_at is not None,
            superseded_by=reissued_as(c),
        )
        for c in certs
    ]


def _reported(session: Session, course: Course) -> dict[cebroker.LedgerKey, str]:
    rows = session.exec(
        select(CEBrokerReport, CEBrokerExport.created_at)
        .join(CEBrokerExport, col(CEBrokerExport.id) == col(CEBrokerReport.export_id))
        .where(CEBrokerReport.course_id == course.id)
    ).all()
    return {
        cebroker.LedgerKey(
            r.state, r.profession_code, r.licence_key, r.completion_date
        ): f"export {r.export_id} of {as_utc(at).date().isoformat()}"
        for r, at in rows
    }


def roster(session: Session, course: Course) -> cebroker.Roster:
    """The rows a CE Broker export of this course would hold now, and the certificates skipped
    with their reason. Writes nothing."""
    return cebroker.build_roster(
        _completions(_course_certificates(session, course)),
        course_ref=course.slug,
        reported=_reported(session, course),
    )


def _row_out(row: cebroker.RosterRow) -> RosterRowOut:
    return RosterRowOut(
        certificate_code=row.certificate_code,
        learner_name=row.learner_name,
        approval_id=row.approval_id,
        provider_tracking_number=row.provider_tracking_number,
        course_tracking_number=row.course_tracking_number,
        course_id=row.course_id,
        publishing_number=row.publishing_number,
        licence_number=row.licence_number,
        completion_date=row.completion_date.isoformat(),
        state=row.state,
        profession_code=row.profession_code,
        subject_code=row.subject_code,
        hours=row.hours,
        cells=row.json_cells(),
    )


def preview(session: Session, course: Course) -> RosterPreviewOut:
    """What marking the roster reported would export now; nothing is written."""
    plan = roster(session, course)
    return RosterPreviewOut(
        course=course.slug,
        digest=plan.digest,
        columns=[f"{letter}: {name}" for letter, name in cebroker.COLUMNS],
        rows=[_row_out(r) for r in plan.rows],
        skipped=[
            SkippedOut(
                certificate_code=s.certificate_code,
                learner_name=s.learner_name,
                reason=s.reason,
                detail=s.detail,
            )
            for s in plan.skipped
        ],
    )


def mark_reported(
    session: Session, admin: User, course: Course, digest: str, *, now: datetime, creator: str
) -> CEBrokerExport:
    """Exports the previewed roster: the workbook and one ledger row per licensee, in the
    caller's transaction. Raises RosterChanged when the roster differs from the preview named
    by `digest`, NothingToReport when it is empty, AlreadyReported when a racing export got
    there first."""
    plan = roster(session, course)
    if plan.digest != digest:
        raise RosterChanged(
            "the roster changed since it was previewed; review it again before marking it reported",
            digest=plan.digest,
        )
    if not plan.rows:
        raise NothingToReport("every eligible licensee of this course was reported already")
    return record_export(session, admin, course, plan.rows, now=now, creator=creator)


def record_export(
    session: Session,
    admin: User,
    course: Course,
    rows: list[cebroker.RosterRow],
    *,
    now: datetime,
    creator: str,
) -> CEBrokerExport:
    """Stores an export of exactly these rows with its workbook. The ledger's unique key makes
    this fail with AlreadyReported, changing nothing, if any licensee and completion was
    reported before, however the rows were computed."""
    assert course.id is not None  # noqa: S101
    moment = now.replace(microsecond=0)
    content = cebroker.workbook(rows, created_at=moment, creator=creator)
    export = CEBrokerExport(
        course_id=course.id,
        created_at=moment,
        created_by_id=admin.id,
        row_count=len(rows),
        file_name="",
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )
    try:
        with session.begin_nested():
            session.add(export)
            session.flush()
            assert export.id is not None  # noqa: S101
            export.file_name = f"cebroker-{course.slug}-{export.id}-{moment:%Y%m%d}.xlsx"
            session.add_all(
                CEBrokerReport(
                    export_id=export.id,
                    course_id=course.id,
                    certificate_id=row.certificate_id,
                    certificate_code=row.certificate_code,
                    learner_name=row.learner_name,
                    row_number=number,
                    state=row.key.state,
                    profession_code=row.key.profession_code,
                    licence_key=row.key.licence_key,
                    licence_number=row.licence_number,
                    completion_date=row.completion_date,
                    cells=row.json_cells(),
                )
                for number, row in enumerate(rows, start=1)
            )
            session.flush()
    except IntegrityError as exc:
        raise AlreadyReported(
            "another export reported some of these licensees first; preview the roster again"
        ) from exc
    audit.record(
        session,
        "cebroker.export",
        f"{course.slug}#{export.id}",
        {"rows": len(rows), "sha256": export.sha256, "file": export.file_name},
        actor_id=admin.id,
        now=moment,
    )
    return export


def _export_summary(export: CEBrokerExport, course: Course, by: str | None) -> ExportSummaryOut:
    return ExportSummaryOut(
        id=export.id or 0,
        course=course.slug,
        created_at=as_utc(export.created_at).isoformat(),
        created_by=by,
        row_count=export.row_count,
        file_name=export.file_name,
        sha256=export.sha256,
        download_url=f"/api/v1/admin/courses/{course.slug}/cebroker/exports/{export.id}/roster.xlsx",
    )


def list_exports(session: Session, course: Course) -> list[ExportSummaryOut]:
    """The course's past exports, newest first (without their workbooks)."""
    found = session.exec(
        select(CEBrokerExport, User.full_name)
        .outerjoin(User, col(User.id) == col(CEBrokerExport.created_by_id))
        .where(CEBrokerExport.course_id == course.id)
        .options(defer(CEBrokerExport.content))  # type: ignore[arg-type]
        .order_by(col(CEBrokerExport.id).desc())
    ).all()
    return [_export_summary(e, course, name) for e, name in found]


def roster_file(export: CEBrokerExport) -> Download:
    """The export's workbook, byte for byte as it was first generated."""
    return Download(export.content, XLSX, export.file_name)


def get_export(session: Session, course: Course, export_id: int) -> CEBrokerExport:
    """One export of this course, with its workbook; raises ExportNotFound."""
    export = session.get(CEBrokerExport, export_id) if is_row_id(export_id) else None
    if export is None or export.course_id != course.id:
        raise ExportNotFound(f"no CE Broker export {export_id} of course {course.slug!r}")
    return export


def export_detail(session: Session, course: Course, export: CEBrokerExport) -> ExportOut:
    by = session.get(User, export.created_by_id) if export.created_by_id else None
    reports = session.exec(
        select(CEBrokerReport)
        .where(CEBrokerReport.export_id == export.id)
        .order_by(col(CEBrokerReport.row_number))
    ).all()
    summary = _export_summary(export, course, by.full_name if by else None)
    return ExportOut(
        **summary.model_dump(),
        rows=[_ledger_row_out(r) for r in reports],
    )


def _ledger_row_out(r: CEBrokerReport) -> RosterRowOut:
    cells = list(r.cells) + [None] * (len(cebroker.COLUMNS) - len(r.cells))
    hours = cells[9]
    return RosterRowOut(
        certificate_code=r.certificate_code,
        learner_name=r.learner_name,
        approval_id="",
        provider_tracking_number=str(cells[0] or ""),
        course_tracking_number=str(cells[1] or ""),
        course_id=str(cells[2] or ""),
        publishing_number=str(cells[3] or ""),
        licence_number=r.licence_number,
        completion_date=r.completion_date.isoformat(),
        state=r.state,
        profession_code=r.profession_code,
        subject_code=str(cells[8] or ""),
        hours=float(hours) if isinstance(hours, int | float) else None,
        cells=cells,
    )


# --- Annual activity summary ------------------------------------------------------------------


def _approvals_in_year(course: Course, first: date, last: date) -> list[ApprovalSummaryOut]:
    out = []
    for raw in course.approvals or []:
        a = Approval.from_json(raw)
        if a.valid_from <= last and a.valid_until >= first:
            out.append(
                ApprovalSummaryOut(
                    id=a.id,
                    body=a.display_body,
                    number=a.number,
                    credit_type=a.credit_type,
                    credit_amount=a.credit_amount,
                    valid_from=a.valid_from.isoformat(),
                    valid_until=a.valid_until.isoformat(),
                )
            )
    return out


@dataclass
class _Tally:
    completions: int = 0
    hours: float = 0.0


def _completion_tallies(session: Session, first: date, last: date) -> dict[int, _Tally]:
    """Per course: completions in the year, each learner's completion once, counted when the
    certificate standing for it is not revoked. A reissue keeps the completion date and stands
    for it; a renewal is a new completion, so the certificate it superseded still counts."""
    # Seven plain columns, not whole certificates (tokens, credentials): a year can be large.
    rows = session.execute(
        sa_select(
            col(Certificate.id),
            col(Certificate.course_id),
            col(Certificate.user_id),
            col(Certificate.completion_date),
            col(Certificate.superseded_by_id),
            col(Certificate.revoked_at),
            col(Certificate.ce_hours),
        )
        .where(col(Certificate.completion_date) >= first, col(Certificate.completion_date) <= last)
        .order_by(col(Certificate.id))
    ).all()
    completed_on = {cert_id: completed for cert_id, _, _, completed, _, _, _ in rows}
    # reissue id -> the certificate it replaced (same completion date)
    reissue_of: dict[int, int] = {
        successor: cert_id
        for cert_id, _, _, completed, successor, _, _ in rows
        if successor is not None and completed_on.get(successor) == completed
    }
    replaced = set(reissue_of.values())

    def first_issue(cert_id: int) -> int:
        while cert_id in reissue_of:
            cert_id = reissue_of[cert_id]
        return cert_id

    standing: dict[tuple[int, object, date], tuple[datetime | None, float]] = {}
    for cert_id, course_id, user_id, completed, _, revoked_at, hours in rows:
        if cert_id in replaced:
            continue  # reissued: its reissue stands for the completion
        who: object = user_id if user_id is not None else ("chain", first_issue(cert_id))
        standing[(course_id, who, completed)] = (revoked_at, hours)
    tallies: dict[int, _Tally] = {}
    for (course_id, _, _), (revoked_at, hours) in standing.items():
        if revoked_at is None:
            tally = tallies.setdefault(course_id, _Tally())
            tally.completions += 1
            tally.hours += hours
    return tallies


def annual_activity(session: Session, year: int) -> AnnualActivityOut:
    """Every course offered in the year (published and available at some time in it, or with
    completions in it), grouped by provider, with its hours, approvals and completions."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    tallies = _completion_tallies(session, first, last)
    by_provider: dict[str, list[CourseActivityOut]] = {}
    for course in session.exec(select(Course).order_by(col(Course.title))):
        assert course.id is not None  # noqa: S101
        available = (
            course.status == CourseStatus.published
            and course.release_date <= last
            and course.expires_on >= first
        )
        tally = tallies.get(course.id, _Tally())
        if not available and tally.completions == 0:
            continue
        by_provider.setdefault(course.provider_name, []).append(
            CourseActivityOut(
                slug=course.slug,
                title=course.title,
                version=course.version,
                status=course.status.value,
                release_date=course.release_date.isoformat(),
                expires_on=course.expires_on.isoformat(),
                is_available_in_year=available,
                ce_hours=course.ce_hours,
                approvals=_approvals_in_year(course, first, last),
                completions=tally.completions,
                hours_awarded=round(tally.hours, 2),
            )
        )
    providers = [
        ProviderActivityOut(
            provider=name,
            courses=courses,
            completions=sum(c.completions for c in courses),
            hours_awarded=round(sum(c.hours_awarded for c in courses), 2),
        )
        for name, courses in sorted(by_provider.items(), key=lambda item: item[0].casefold())
    ]
    return AnnualActivityOut(
        year=year,
        providers=providers,
        completions=sum(p.completions for p in providers),
        hours_awarded=round(sum(p.hours_awarded for p in providers), 2),
    )


def _safe(text: str) -> str:
    # Spreadsheets run cells starting with these as formulas; learners choose their own names.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _approval_text(a: ApprovalSummaryOut) -> str:
    return f"{a.body} {a.number}: {a.credit_amount:g} {a.credit_type}"


def annual_activity_file(report: AnnualActivityOut) -> Download:
    return Download(
        annual_activity_csv(report),
        "text/csv; charset=utf-8",
        f"annual-activity-{report.year}.csv",
    )


def annual_activity_csv(report: AnnualActivityOut) -> str:
    """The summary as CSV: a row per course, a total row per provider, and a grand total."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ANNUAL_COLUMNS, restval="")
    writer.writeheader()
    for p in report.providers:
        for c in p.courses:
            writer.writerow(
                {
                    "year": report.year,
                    "provider": _safe(p.provider),
                    "row_type": "course",
                    "course_slug": c.slug,
                    "course_title": _safe(c.title),
                    "course_version": c.version,
                    "status": c.status,
                    "release_date": c.release_date,
                    "expires_on": c.expires_on,
                    "available_in_year": "yes" if c.is_available_in_year else "no",
                    "ce_hours": f"{c.ce_hours:g}",
                    "credit_approvals": _safe("; ".join(_approval_text(a) for a in c.approvals)),
                    "completions": c.completions,
                    "hours_awarded": f"{c.hours_awarded:g}",
                }
            )
        writer.writerow(
            {
                "year": report.year,
                "provider": _safe(p.provider),
                "row_type": "provider_total",
                "completions": p.completions,
                "hours_awarded": f"{p.hours_awarded:g}",
            }
        )
    writer.writerow(
        {
            "year": report.year,
            "row_type": "total",
            "completions": report.completions,
            "hours_awarded": f"{report.hours_awarded:g}",
        }
    )
    return out.getvalue()


# --- Bulk certificate download ----------------------------------------------------------------


def zip_parts(session: Session, course: Course) -> int:
    """How many ZIP parts the course's certificates take (at least one, possibly empty)."""
    count = session.exec(
        select(func.count()).select_from(Certificate).where(Certificate.course_id == course.id)
    ).one()
    return max(1, math.ceil(count / ZIP_PART_SIZE))


def _iso_day(moment: datetime | None) -> str:
    return as_utc(moment).date().isoformat() if moment else ""


def _manifest_row(cert: Certificate, name: str, digest: str, *, now: datetime) -> list[str]:
    profession = professions.label(cert.profession_key) if cert.profession_key else cert.profession
    return [
        cert.code,
        _safe(cert.learner_name),
        _safe(profession),
        cert.license_state,
        _safe(cert.license_number),
        cert.completion_date.isoformat(),
        _iso_day(cert.issued_at),
        _iso_day(cert.expires_at),
        certificates.status_of(cert, now=now),
        f"{cert.ce_hours:g}",
        name,
        digest,
    ]


def certificates_zip(session: Session, course: Course, *, part: int = 1, now: datetime) -> Download:
    """One part (ZIP_PART_SIZE certificates, oldest first) of the course's certificates: every
    PDF, revoked and superseded included, manifest.csv naming each with its SHA-256, and
    credit_basis.json (what each credit rests on, for accreditors); the header X-Parts-Total
    says how many parts there are. Raises PartOutOfRange."""
    parts = zip_parts(session, course)
    if not 1 <= part <= parts:
        raise PartOutOfRange(f"part {part} of {parts}: there are {parts} part(s)", parts=parts)
    certs = session.exec(
        select(Certificate)
        .where(Certificate.course_id == course.id)
        .order_by(col(Certificate.id))
        .offset((part - 1) * ZIP_PART_SIZE)
        .limit(ZIP_PART_SIZE)
    ).all()
    buffer = io.BytesIO()
    basis: dict[str, Any] = {}
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(MANIFEST_COLUMNS)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for cert in certs:
            data = certificates.render_pdf(session, cert)
            name = f"certificates/{cert.code}.pdf"
            archive.writestr(_entry(name, now), data)
            writer.writerow(_manifest_row(cert, name, hashlib.sha256(data).hexdigest(), now=now))
            basis[cert.code] = {"credit_basis": cert.credit_basis, "approvals": cert.approvals}
        archive.writestr(_entry("manifest.csv", now), manifest.getvalue().encode("utf-8"))
        archive.writestr(
            _entry("credit_basis.json", now),
            json.dumps(basis, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8"),
        )
    suffix = f"-part{part}of{parts}" if parts > 1 else ""
    return Download(
        buffer.getvalue(),
        "application/zip",
        f"certificates-{course.slug}{suffix}.zip",
        {"X-Parts-Total": str(parts)},
    )


def _entry(name: str, now: datetime) -> zipfile.ZipInfo:
    moment = as_utc(now)
    info = zipfile.ZipInfo(name, date_time=moment.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info
