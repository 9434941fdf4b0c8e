"""Learner pages: catalog, dashboard, course, module reader, quizzes, results, evaluation."""

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.accounts import service as accounts
from app.accounts.models import User
from app.certificates import service as certificates
from app.core.clock import utcnow
from app.core.deps import (
    LazySession,
    LazySessionDep,
    OptionalWebUser,
    SessionDep,
    SettingsDep,
    WebUser,
    admit_reader,
    find_web_session,
    run_prepared,
    session_token,
)
from app.core.errors import DomainError, NotFound, Unauthenticated
from app.core.fastread import need
from app.core.settings import Settings
from app.courses import service as courses
from app.courses.models import Course
from app.licences import professions
from app.licences import service as licences
from app.licences.models import Licence
from app.quizzes import grading
from app.quizzes import service as quizzes
from app.quizzes.errors import AlreadySubmitted
from app.quizzes.models import QuizAttempt
from app.web.page_cache import render_cached
from app.web.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def catalog(request: Request, session: SessionDep, _user: OptionalWebUser, q: str = "") -> Response:
    return render(
        request, "learning/catalog.html", courses=courses.list_published(session, q), query=q
    )


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, user: WebUser) -> Response:
    return render(
        request, "learning/dashboard.html", enrollments=courses.enrolled_courses(session, user)
    )


@router.get("/courses/{slug}", response_class=HTMLResponse)
def course_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: OptionalWebUser,
    slug: str,
) -> Response:
    course = courses.get_course(session, slug, viewer=user)
    return render_course_page(request, session, settings, user, course)


def render_course_page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User | None,
    course: Course,
    status: int = 200,
    *,
    claim_error: str = "",
    claim_problems: list[str] | None = None,
) -> Response:
    """The course page; also re-shown by a refused certificate claim, with the reasons."""
    now = utcnow()
    progress = courses.progress(session, user, course)
    due = courses.due_legal_reviews(course, today=now) if courses.is_staff(user) else []
    current: list[Licence] = []
    renewal = None
    if user is not None and progress.enrollment is not None:
        current = [
            lic
            for lic in licences.licences_of(session, user)
            if lic.expires_on is None or lic.expires_on >= now.date()
        ]
        renewal = certificates.renewal_status(session, user, course, now=now, settings=settings)
    return render(
        request,
        "learning/course.html",
        status,
        course=course,
        progress=progress,
        due_reviews=due,
        is_staff=courses.is_staff(user),
        licences=current,
        renewal=renewal,
        profession_label=professions.label,
        claim_error=claim_error,
        claim_problems=claim_problems or [],
    )


@router.post("/courses/{slug}/enroll")
def enroll(session: SessionDep, user: WebUser, slug: str) -> Response:
    course = courses.get_course(session, slug, viewer=user)
    courses.enroll(session, user, course, now=utcnow())
    session.commit()
    return RedirectResponse(f"/courses/{slug}", status_code=303)


@router.get("/courses/{slug}/modules/{module}", response_class=HTMLResponse)
async def module_page(request: Request, db: LazySessionDep, slug: str, module: str) -> Response:
    try:
        return await _module_page(request, db, slug, module)
    finally:
        await db.close()


async def _module_page(request: Request, db: LazySession, slug: str, module: str) -> Response:
    # The most requested page, so async: no thread-pool hop of its own. One statement reads
    # the browser session and the learner's progress (courses.open_module; admit_reader applies
    # web_user's rules to the session, read from the database every time): inline on SQLite,
    # on PostgreSQL on the event loop's own connection, batched with concurrent views
    # (run_prepared); a Session is opened only if needed (LazySession). The page is cached per
    # content version and module states (page_cache).
    now = utcnow()

    def finish(
        session: Session | None, row: tuple[Any, ...] | None
    ) -> tuple[accounts.SignedIn, courses.ModuleView]:
        def admit(found: accounts.SignedIn | None) -> accounts.SignedIn:
            return admit_reader(request, session, found)

        try:
            return courses.finish_open_module(session, row, slug, module, now=now, admit=admit)
        except Unauthenticated:
            raise
        except DomainError:
            find_web_session(request, need(session))  # so the error page shows who is signed in
            raise

    read = courses.open_module_read(session_token(request), slug, module, now=now)
    reader, view = await run_prepared(db, read, finish)
    if view.note is not None:  # at most once a minute per learner and module
        await run_in_threadpool(_save_reading, db.get(), view.note, now)

    def context() -> dict[str, Any]:
        index = view.modules.index(view.state)
        following = view.modules[index + 1] if index + 1 < len(view.modules) else None
        return {
            "course": view.course,
            "state": view.state,
            "html": view.html,
            "previous": view.modules[index - 1] if index > 0 else None,
            "following": following,
        }

    return render_cached(request, "learning/module.html", view.cache_key, reader.role, context)


def _save_reading(session: Session, note: courses.ReadingNote, now: datetime) -> None:
    courses.save_reading(session, note, now=now)
    session.commit()


@router.get("/courses/{slug}/closing", response_class=HTMLResponse)
def closing_page(
    request: Request, session: SessionDep, user: OptionalWebUser, slug: str
) -> Response:
    course = courses.get_course(session, slug, viewer=user)
    if not course.closing_html:
        raise NotFound("this course has no closing page")
    return render(request, "learning/closing.html", course=course)


@router.get("/courses/{slug}/assets/{path:path}")
def course_asset(
    session: SessionDep, settings: SettingsDep, user: OptionalWebUser, slug: str, path: str
) -> Response:
    course = courses.get_course(session, slug, viewer=user)
    base = (settings.content_dir / "courses" / course.slug).resolve()
    target = (base / path).resolve()
    allowed = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}
    if (
        not target.is_relative_to(base)
        or target.suffix.lower() not in allowed
        or not target.is_file()
    ):
        raise NotFound("no such file")
    return FileResponse(Path(target))


@router.post("/courses/{slug}/modules/{module}/quiz")
def start_module_quiz(session: SessionDep, user: WebUser, slug: str, module: str) -> Response:
    course = courses.get_course(session, slug, viewer=user)
    started = quizzes.start_attempt(session, user, course, module, now=utcnow())
    session.commit()
    return RedirectResponse(f"/attempts/{started.attempt.public_id}", status_code=303)


@router.post("/courses/{slug}/final-exam")
def start_final_exam(session: SessionDep, user: WebUser, slug: str) -> Response:
    course = courses.get_course(session, slug, viewer=user)
    started = quizzes.start_attempt(session, user, course, quizzes.FINAL, now=utcnow())
    session.commit()
    return RedirectResponse(f"/attempts/{started.attempt.public_id}", status_code=303)


def _attempt_context(session: SessionDep, attempt: QuizAttempt) -> dict[str, Any]:
    course, bank = quizzes.attempt_course(session, attempt)
    return {"course": course, "bank": bank, "attempt": attempt}


@router.get("/attempts/{attempt_id}", response_class=HTMLResponse)
def attempt_page(request: Request, session: SessionDep, user: WebUser, attempt_id: str) -> Response:
    attempt = quizzes.get_attempt(session, user, attempt_id)
    context = _attempt_context(session, attempt)
    if attempt.submitted_at is not None:
        return render(request, "quizzes/result.html", **context, error=None)
    questions = grading.public_questions(attempt.snapshot)
    return render(request, "quizzes/attempt.html", **context, questions=questions, error=None)


@router.post("/attempts/{attempt_id}", response_class=HTMLResponse)
async def submit_attempt_page(
    request: Request, session: SessionDep, user: WebUser, attempt_id: str
) -> Response:
    form = await request.form()
    fields = {k: [str(v) for v in form.getlist(k)] for k in form}

    return await run_in_threadpool(_submit, request, session, user, attempt_id, fields)


def _submit(
    request: Request,
    session: SessionDep,
    user: WebUser,
    attempt_id: str,
    fields: dict[str, list[str]],
) -> Response:
    attempt = quizzes.get_attempt(session, user, attempt_id)
    context = _attempt_context(session, attempt)
    try:
        answers = grading.answers_from_form(attempt.snapshot, fields)
        quizzes.submit_attempt(session, user, attempt_id, answers, now=utcnow())
    except AlreadySubmitted:
        return RedirectResponse(f"/attempts/{attempt_id}", status_code=303)
    except DomainError as exc:
        questions = grading.public_questions(attempt.snapshot)
        is_htmx = request.headers.get("HX-Request") == "true"
        return render(
            request,
            "quizzes/_attempt.html" if is_htmx else "quizzes/attempt.html",
            exc.status_code,
            **context,
            questions=questions,
            error=exc.detail,
        )
    session.commit()
    template = (
        "quizzes/_result.html" if request.headers.get("HX-Request") else "quizzes/result.html"
    )
    return render(request, template, **context, error=None)


@router.get("/courses/{slug}/evaluation", response_class=HTMLResponse)
def evaluation_page(request: Request, session: SessionDep, user: WebUser, slug: str) -> Response:
    course = courses.get_course(session, slug, viewer=user)
    progress = courses.progress(session, user, course)
    return render(
        request, "quizzes/evaluation.html", course=course, progress=progress, errors={}, form={}
    )


@router.post("/courses/{slug}/evaluation", response_class=HTMLResponse)
async def evaluation_submit(
    request: Request, session: SessionDep, user: WebUser, slug: str
) -> Response:
    form = await request.form()
    answers = {k: str(v) for k, v in form.items() if k != "csrf_token"}

    return await run_in_threadpool(_evaluate, request, session, user, slug, answers)


def _evaluate(
    request: Request, session: SessionDep, user: WebUser, slug: str, answers: dict[str, str]
) -> Response:
    course = courses.get_course(session, slug, viewer=user)
    try:
        quizzes.submit_evaluation(session, user, course, answers, now=utcnow())
    except DomainError as exc:
        progress = courses.progress(session, user, course)
        field = str(exc.extra.get("field", ""))
        return render(
            request,
            "quizzes/evaluation.html",
            exc.status_code,
            course=course,
            progress=progress,
            errors={field: exc.detail} if field else {"_form": exc.detail},
            form=answers,
        )
    session.commit()
    return RedirectResponse(f"/courses/{slug}", status_code=303)
