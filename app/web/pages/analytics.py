"""Staff pages: per-course analytics (report, learner table, CSV export)."""

import csv
import io

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.analytics import charts
from app.analytics import service as analytics
from app.core.deps import SessionDep, WebStaff
from app.web.templating import render

router = APIRouter()
PER_PAGE = 50


@router.get("/studio/courses/{slug}/analytics", response_class=HTMLResponse)
def course_analytics(
    request: Request,
    session: SessionDep,
    user: WebStaff,
    slug: str,
    status: str = "",
    q: str = "",
    page: int = 1,
) -> Response:
    course = analytics.get_course_for_staff(session, user, slug)
    report = analytics.course_report(session, course)
    learners = analytics.learners(
        session, course, status=status, query=q, page=page, per_page=PER_PAGE
    )
    quizzes = [*report.modules, *([report.final_exam] if report.final_exam else [])]
    return render(
        request,
        "analytics/course.html",
        course=course,
        report=report,
        learners=learners,
        statuses=analytics.LEARNER_STATUSES,
        funnel_chart=charts.funnel_chart([(s.label, s.count) for s in report.funnel]),
        pass_rate_chart=charts.pass_rate_chart(
            [(m.title, m.first_attempt_pass_rate) for m in quizzes]
        ),
        likert_charts=[
            charts.likert_chart(q.question_id, q.prompt, q.counts) for q in report.evaluation.likert
        ],
        quizzes=quizzes,
    )


@router.get("/studio/courses/{slug}/analytics/learners.csv")
def learners_csv(
    session: SessionDep, user: WebStaff, slug: str, status: str = "", q: str = ""
) -> Response:
    course = analytics.get_course_for_staff(session, user, slug)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(analytics.CSV_COLUMNS)
    for row in analytics.iter_learners(session, course, status=status, query=q):
        writer.writerow(analytics.learner_csv_row(row))
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{course.slug}-learners.csv"'},
    )
