"""/api/v1/courses/{slug}/analytics: the course report for its owner and admins."""

from fastapi import APIRouter

from app.analytics import service as analytics
from app.analytics.schemas import CourseReportOut
from app.core.deps import ApiStaff, SessionDep

router = APIRouter(tags=["analytics"])


@router.get(
    "/courses/{slug}/analytics",
    responses={404: {"description": "no such course, or not one of yours"}},
)
def course_analytics(slug: str, user: ApiStaff, session: SessionDep) -> CourseReportOut:
    course = analytics.get_course_for_staff(session, user, slug)
    return analytics.course_report(session, course)
