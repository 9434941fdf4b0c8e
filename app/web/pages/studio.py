"""Studio pages: instructors author their courses (admins: all) in the browser."""

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.accounts.models import User
from app.core.clock import utcnow
from app.core.deps import SessionDep, SettingsDep, WebStaff
from app.core.errors import DomainError, Invalid, NotFound
from app.core.settings import Settings
from app.studio import service as studio
from app.studio.models import StudioDraft
from app.web.templating import render

router = APIRouter(prefix="/studio")


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()  # already parsed (and cached) by the CSRF check
    return {key: str(value) for key, value in form.items() if key != "csrf_token"}


FormFields = Annotated[dict[str, str], Depends(_form)]


def _assets(settings: Settings, slug: str) -> Path:
    return settings.content_dir / "courses" / slug


_CHECKS: dict[tuple[str, str, str], studio.DraftCheck] = {}


def _check(draft: StudioDraft, settings: Settings) -> studio.DraftCheck:
    """Validates the draft once per content: a save that fails re-renders its page, and both
    need the same check (it writes the files to a temp folder and runs load_content)."""
    today = utcnow().date()
    digest = hashlib.sha256(json.dumps(draft.files, sort_keys=True).encode()).hexdigest()
    key = (draft.course_slug, digest, today.isoformat())
    if key not in _CHECKS:
        if len(_CHECKS) > 32:
            _CHECKS.clear()
        _CHECKS[key] = studio.check_draft(
            draft, today=today, assets=_assets(settings, draft.course_slug)
        )
    return _CHECKS[key]


def _index(form: dict[str, str], name: str = "index") -> int:
    try:
        return int(form.get(name, ""))
    except ValueError as exc:
        raise NotFound("no such question") from exc


MESSAGES = {
    "course": "Course details saved.",
    "order": "Module order saved.",
    "removed": "Module removed from the draft.",
    "published": "Published: learners now see the new versions (see the publish history).",
    "unchanged": "Nothing changed since the last publish.",
    "discarded": "Draft discarded.",
    "module": "Module saved.",
    "quiz": "Quiz settings saved.",
    "question": "Question saved.",
    "question-removed": "Question removed.",
    "file": "File saved.",
    "file-removed": "File removed.",
}


def _message(request: Request) -> str:
    return MESSAGES.get(request.query_params.get("saved", ""), "")


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _base(slug: str) -> str:
    return f"/studio/courses/{slug}"


# --- course list and new courses ---------------------------------------------------------------


def _studio_index(
    request: Request,
    session: SessionDep,
    user: User,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "studio/index.html",
        status,
        courses=studio.list_courses(session, user),
        errors=errors or {},
        form=form or {},
    )


@router.get("", response_class=HTMLResponse)
def studio_home(request: Request, session: SessionDep, user: WebStaff) -> Response:
    return _studio_index(request, session, user)


@router.post("/courses", response_class=HTMLResponse)
def create_course(
    request: Request, session: SessionDep, user: WebStaff, form: FormFields
) -> Response:
    try:
        draft = studio.create_course(
            session, user, form.get("slug", ""), form.get("title", ""), now=utcnow()
        )
    except DomainError as exc:
        name = str(exc.extra.get("field", "slug"))
        return _studio_index(
            request, session, user, exc.status_code, errors={name: exc.detail}, form=form
        )
    session.commit()
    return _see_other(_base(draft.course_slug))


# --- a course's overview -----------------------------------------------------------------------


def _course_page(
    request: Request,
    session: SessionDep,
    settings: Settings,
    draft: StudioDraft,
    status: int = 200,
    **extra: Any,
) -> Response:
    check = _check(draft, settings)
    course = studio.find_course(session, draft.course_slug)
    errors = studio.course_errors(check, draft)
    quiz_keys = {m.slug: m.quiz_path in draft.files for m in studio.modules(draft)}
    context: dict[str, Any] = {
        "draft": draft,
        "course": course,
        "check": check,
        "form": studio.course_form(draft),
        "errors": errors.fields,
        "modules": studio.modules(draft),
        "quiz_keys": quiz_keys,
        "files": sorted(draft.files),
        "bib_path": studio.bibliography_path(draft.course_slug),
        "is_stale": studio.is_stale(session, draft),
        "publishes": studio.publishes(session, course) if course is not None else [],
        "message": _message(request),
        "add_errors": {},
        "add_form": {},
        "publish_problems": [],
    }
    context.update(extra)
    return render(request, "studio/course.html", status, **context)


@router.get("/courses/{slug}", response_class=HTMLResponse)
def course_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: WebStaff, slug: str
) -> Response:
    draft = studio.get_draft(session, user, slug, now=utcnow())
    return _course_page(request, session, settings, draft)


@router.post("/courses/{slug}", response_class=HTMLResponse)
def save_course(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    form: FormFields,
) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    studio.save_course(session, draft, form, now=now)
    session.commit()
    if studio.course_errors(_check(draft, settings), draft).has_errors:
        return _course_page(request, session, settings, draft, 422)
    return _see_other(f"{_base(slug)}?saved=course")


@router.post("/courses/{slug}/modules", response_class=HTMLResponse)
def add_module(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    form: FormFields,
) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    try:
        module = studio.add_module(
            session, draft, form.get("slug", ""), form.get("title", ""), now=now
        )
    except DomainError as exc:
        name = str(exc.extra.get("field", "slug"))
        return _course_page(
            request,
            session,
            settings,
            draft,
            exc.status_code,
            add_errors={name: exc.detail},
            add_form=form,
        )
    session.commit()
    return _see_other(f"{_base(slug)}/modules/{module.slug}")


@router.post("/courses/{slug}/modules/{module}/move")
def move_module(
    session: SessionDep, user: WebStaff, slug: str, module: str, form: FormFields
) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    studio.move_module(session, draft, module, -1 if form.get("direction") == "up" else 1, now=now)
    session.commit()
    return _see_other(f"{_base(slug)}?saved=order#modules")


@router.post("/courses/{slug}/modules/{module}/remove")
def remove_module(session: SessionDep, user: WebStaff, slug: str, module: str) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    studio.remove_module(session, draft, module, now=now)
    session.commit()
    return _see_other(f"{_base(slug)}?saved=removed#modules")


@router.post("/courses/{slug}/publish", response_class=HTMLResponse)
def publish(
    request: Request, session: SessionDep, settings: SettingsDep, user: WebStaff, slug: str
) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    try:
        outcome = studio.publish(session, user, draft, now=now, assets=_assets(settings, slug))
    except Invalid as exc:
        problems = [str(p) for p in exc.extra.get("problems", [])]
        return _course_page(
            request, session, settings, draft, 422, publish_problems=[exc.detail, *problems]
        )
    session.commit()
    return _see_other(f"{_base(slug)}?saved={'published' if outcome.record else 'unchanged'}")


@router.post("/courses/{slug}/discard")
def discard(session: SessionDep, user: WebStaff, slug: str) -> Response:
    draft = studio.get_draft(session, user, slug, now=utcnow())
    is_new = studio.find_course(session, slug) is None
    studio.discard(session, draft)
    session.commit()
    return _see_other("/studio" if is_new else f"{_base(slug)}?saved=discarded")


# --- modules -----------------------------------------------------------------------------------


def _module_page(
    request: Request,
    settings: Settings,
    draft: StudioDraft,
    module: studio.DraftModule,
    status: int = 200,
) -> Response:
    check = _check(draft, settings)
    form = studio.module_form(draft, module)
    errors = studio.module_errors(check, draft, module)
    return render(
        request,
        "studio/module.html",
        status,
        draft=draft,
        module=module,
        form=form,
        errors=errors.fields,
        other=errors.other,
        rendered=studio.preview(draft, form["body"]),
        message=_message(request),
    )


@router.get("/courses/{slug}/modules/{module}", response_class=HTMLResponse)
def module_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    module: str,
) -> Response:
    draft = studio.get_draft(session, user, slug, now=utcnow())
    return _module_page(request, settings, draft, studio.get_module(draft, module))


@router.post("/courses/{slug}/modules/{module}", response_class=HTMLResponse)
def save_module(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    module: str,
    form: FormFields,
) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    found = studio.get_module(draft, module)
    studio.save_module(session, draft, found, form, now=now)
    session.commit()
    if studio.module_errors(_check(draft, settings), draft, found).has_errors:
        return _module_page(request, settings, draft, found, 422)
    return _see_other(f"{_base(slug)}/modules/{module}?saved=module")


@router.post("/courses/{slug}/preview", response_class=HTMLResponse)
def preview(
    request: Request, session: SessionDep, user: WebStaff, slug: str, form: FormFields
) -> Response:
    draft = studio.get_draft(session, user, slug, now=utcnow())
    rendered = studio.preview(draft, form.get("body", ""))
    return render(request, "studio/_preview.html", rendered=rendered)


@router.get("/courses/{slug}/modules/{module}/history", response_class=HTMLResponse)
def module_history(
    request: Request,
    session: SessionDep,
    user: WebStaff,
    slug: str,
    module: str,
    old: int | None = None,
    new: int | None = None,
) -> Response:
    course, found, versions = studio.module_history(session, user, slug, module)
    rows = None
    if old is not None and new is not None:
        rows = studio.version_diff(versions, old, new)
    elif len(versions) >= 2:
        old, new = versions[1].version, versions[0].version
    return render(
        request,
        "studio/history.html",
        course=course,
        module=found,
        versions=versions,
        rows=rows,
        old=old,
        new=new,
    )


# --- quiz banks --------------------------------------------------------------------------------


def _quiz_page(
    request: Request,
    settings: Settings,
    draft: StudioDraft,
    key: str,
    status: int = 200,
) -> Response:
    path = studio.quiz_path(draft, key)
    data = studio.quiz_data(draft, path)
    errors = studio.quiz_errors(_check(draft, settings), draft, path)
    return render(
        request,
        "studio/quiz.html",
        status,
        draft=draft,
        key=key,
        path=path,
        form=studio.quiz_form(data),
        questions=studio.quiz_questions(data),
        errors=errors.fields,
        question_errors=errors.questions,
        other=errors.other,
        message=_message(request),
    )


@router.get("/courses/{slug}/quizzes/{module}", response_class=HTMLResponse)
def quiz_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    module: str,
) -> Response:
    draft = studio.get_draft(session, user, slug, now=utcnow())
    return _quiz_page(request, settings, draft, module)


@router.post("/courses/{slug}/quizzes/{module}", response_class=HTMLResponse)
def save_quiz(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    module: str,
    form: FormFields,
) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    path = studio.quiz_path(draft, module)
    studio.save_quiz_settings(session, draft, path, form, now=now)
    session.commit()
    if studio.quiz_errors(_check(draft, settings), draft, path).has_errors:
        return _quiz_page(request, settings, draft, module, 422)
    return _see_other(f"{_base(slug)}/quizzes/{module}?saved=quiz")


def _question_page(
    request: Request,
    settings: Settings,
    draft: StudioDraft,
    key: str,
    index: int | None,
    status: int = 200,
    form: dict[str, Any] | None = None,
) -> Response:
    path = studio.quiz_path(draft, key)
    questions = studio.quiz_questions(studio.quiz_data(draft, path))
    if index is not None and not 0 <= index < len(questions):
        raise NotFound("no such question")
    errors: dict[str, list[str]] = {}
    if index is not None:
        errors = studio.quiz_errors(_check(draft, settings), draft, path).questions.get(index, {})
    question = studio.question_form(questions[index] if index is not None else {})
    return render(
        request,
        "studio/question.html",
        status,
        draft=draft,
        key=key,
        path=path,
        index=index,
        question=form or question,
        errors=errors,
    )


@router.get("/courses/{slug}/quizzes/{module}/questions", response_class=HTMLResponse)
def question_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    module: str,
    index: int | None = None,
) -> Response:
    draft = studio.get_draft(session, user, slug, now=utcnow())
    return _question_page(request, settings, draft, module, index)


@router.post("/courses/{slug}/quizzes/{module}/questions", response_class=HTMLResponse)
def save_question(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    module: str,
    form: FormFields,
) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    path = studio.quiz_path(draft, module)
    index = _index(form) if form.get("index", "") != "" else None
    index = studio.save_question(session, draft, path, index, form, now=now)
    session.commit()
    if index in studio.quiz_errors(_check(draft, settings), draft, path).questions_with_errors:
        return _question_page(request, settings, draft, module, index, 422)
    return _see_other(f"{_base(slug)}/quizzes/{module}?saved=question")


@router.post("/courses/{slug}/quizzes/{module}/questions/remove")
def remove_question(
    session: SessionDep, user: WebStaff, slug: str, module: str, form: FormFields
) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    path = studio.quiz_path(draft, module)
    studio.remove_question(session, draft, path, _index(form), now=now)
    session.commit()
    return _see_other(f"{_base(slug)}/quizzes/{module}?saved=question-removed")


# --- any file as text --------------------------------------------------------------------------


def _source_page(
    request: Request,
    settings: Settings,
    draft: StudioDraft,
    path: str,
    status: int = 200,
) -> Response:
    text = studio.editable_source(draft, path)
    problems = [p for p in _check(draft, settings).problems if p.path == path]
    return render(
        request,
        "studio/source.html",
        status,
        draft=draft,
        path=path,
        text=text,
        problems=problems,
        message=_message(request),
    )


@router.get("/courses/{slug}/source", response_class=HTMLResponse)
def source_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    path: str = "",
) -> Response:
    draft = studio.get_draft(session, user, slug, now=utcnow())
    return _source_page(request, settings, draft, path)


@router.post("/courses/{slug}/source", response_class=HTMLResponse)
def save_source(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    form: FormFields,
) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    path = form.get("path", "")
    studio.save_source(session, draft, path, form.get("text", ""), now=now)
    session.commit()
    if path not in draft.files:  # an emptied references.bib was removed
        return _see_other(f"{_base(slug)}?saved=file-removed")
    if any(p.path == path and p.severity == "error" for p in _check(draft, settings).problems):
        return _source_page(request, settings, draft, path, 422)
    return _see_other(f"{_base(slug)}/source?{urlencode({'path': path, 'saved': 'file'})}")
