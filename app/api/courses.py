"""/api/v1/courses: catalog, progress, enrolment, module content, quiz attempts, evaluation."""

from fastapi import APIRouter, Response, status

from app.core.clock import utcnow
from app.core.deps import ApiUser, SessionDep
from app.courses import service as courses
from app.courses.schemas import (
    CertificateRefOut,
    CourseDetailOut,
    CourseSummaryOut,
    EnrollmentOut,
    ModuleOut,
    ModuleStateOut,
    StateOut,
    TocEntryOut,
)
from app.quizzes import grading
from app.quizzes import service as quizzes
from app.quizzes.schemas import (
    AttemptOut,
    EvaluationIn,
    EvaluationOut,
    EvaluationQuestionOut,
    OptionOut,
    QuestionOut,
)

router = APIRouter(prefix="/courses", tags=["courses"])
LOCKED_RESPONSES: dict[int | str, dict[str, str]] = {
    403: {"description": "locked or not enrolled"},
    404: {"description": "unknown course or module"},
}


def course_detail_out(progress: courses.CourseProgress) -> CourseDetailOut:
    course = progress.course
    return CourseDetailOut(
        slug=course.slug,
        title=course.title,
        ce_hours=course.ce_hours,
        version=course.version,
        enrolled=progress.enrollment is not None,
        modules=[
            ModuleStateOut(
                slug=m.module.slug,
                title=m.version.title,
                position=m.module.position,
                state=m.state,
                estimated_minutes=m.version.estimated_minutes,
            )
            for m in progress.modules
        ],
        final_exam=StateOut(state=progress.final_exam_state),
        evaluation=StateOut(state=progress.evaluation_state),
        certificate=(
            CertificateRefOut(code=progress.certificate_code) if progress.certificate_code else None
        ),
        summary=course.summary,
        audience=course.audience,
        objectives=course.objectives,
        instructional_level=course.instructional_level,
        delivery_format=course.delivery_format,
        provider_name=course.provider_name,
        accreditation_statement=course.accreditation_statement,
    )


def attempt_out(started: quizzes.StartedAttempt) -> AttemptOut:
    attempt, version = started.attempt, started.version
    return AttemptOut(
        attempt_id=attempt.public_id,
        questions=[
            QuestionOut(
                id=q["id"],
                type=q["type"],
                prompt=q["prompt"],
                options=[OptionOut(**o) for o in q["options"]],
            )
            for q in grading.public_questions(attempt.snapshot)
        ],
        title=version.title,
        pass_mark=attempt.pass_mark,
        deadline_at=attempt.deadline_at.isoformat() if attempt.deadline_at else None,
        attempts_used=started.attempts_used,
        max_attempts=version.max_attempts,
    )


@router.get("")
def list_courses(_user: ApiUser, session: SessionDep, q: str = "") -> list[CourseSummaryOut]:
    return [
        CourseSummaryOut(
            slug=c.slug,
            title=c.title,
            summary=c.summary,
            ce_hours=c.ce_hours,
            version=c.version,
            module_count=n,
            audience=c.audience,
        )
        for c, n in courses.list_published(session, q)
    ]


@router.get("/{slug}", responses=LOCKED_RESPONSES)
def get_course(slug: str, user: ApiUser, session: SessionDep) -> CourseDetailOut:
    course = courses.get_course(session, slug, viewer=user)
    return course_detail_out(courses.progress(session, user, course))


@router.post("/{slug}/enrollment", status_code=status.HTTP_201_CREATED, responses=LOCKED_RESPONSES)
def enroll(slug: str, user: ApiUser, session: SessionDep, response: Response) -> EnrollmentOut:
    course = courses.get_course(session, slug, viewer=user)
    _, created = courses.enroll(session, user, course, now=utcnow())
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return EnrollmentOut(course=course.slug, enrolled=True, created=created)


@router.get("/{slug}/modules/{module}", responses=LOCKED_RESPONSES)
def read_module(slug: str, module: str, user: ApiUser, session: SessionDep) -> ModuleOut:
    course = courses.get_course(session, slug, viewer=user)
    now = utcnow()
    _, state, note = courses.read_module(session, user, course, module, now=now)
    session.commit()  # ends the read; the rare write below is its own short transaction
    if note is not None:
        courses.save_reading(session, note, now=now)
        session.commit()
    return ModuleOut(
        slug=state.module.slug,
        title=state.version.title,
        html=state.html,
        toc=[TocEntryOut(**t) for t in state.version.toc],
        state=state.state,
        estimated_minutes=state.version.estimated_minutes,
        version=state.version.version,
    )


ATTEMPT_RESPONSES: dict[int | str, dict[str, str]] = {
    **LOCKED_RESPONSES,
    429: {"description": "attempts used up until the cooldown ends ({detail, retry_after})"},
}


@router.post(
    "/{slug}/modules/{module}/attempts",
    status_code=status.HTTP_201_CREATED,
    responses=ATTEMPT_RESPONSES,
)
def start_module_attempt(slug: str, module: str, user: ApiUser, session: SessionDep) -> AttemptOut:
    course = courses.get_course(session, slug, viewer=user)
    started = quizzes.start_attempt(session, user, course, module, now=utcnow())
    session.commit()
    return attempt_out(started)


@router.post(
    "/{slug}/final-exam/attempts", status_code=status.HTTP_201_CREATED, responses=ATTEMPT_RESPONSES
)
def start_final_attempt(slug: str, user: ApiUser, session: SessionDep) -> AttemptOut:
    course = courses.get_course(session, slug, viewer=user)
    started = quizzes.start_attempt(session, user, course, quizzes.FINAL, now=utcnow())
    session.commit()
    return attempt_out(started)


@router.get("/{slug}/evaluation", responses=LOCKED_RESPONSES)
def get_evaluation(slug: str, user: ApiUser, session: SessionDep) -> EvaluationOut:
    course = courses.get_course(session, slug, viewer=user)
    return EvaluationOut(
        questions=[EvaluationQuestionOut(**q) for q in quizzes.evaluation_questions(course)]
    )


@router.post(
    "/{slug}/evaluation",
    status_code=status.HTTP_201_CREATED,
    responses={**LOCKED_RESPONSES, 409: {"description": "already submitted"}},
)
def submit_evaluation(
    slug: str, body: EvaluationIn, user: ApiUser, session: SessionDep
) -> dict[str, str]:
    course = courses.get_course(session, slug, viewer=user)
    quizzes.submit_evaluation(session, user, course, body.answers, now=utcnow())
    session.commit()
    return {"status": "submitted"}
