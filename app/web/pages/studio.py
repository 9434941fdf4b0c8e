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
        raise NotFound("no such item") from exc


def _optional_index(form: dict[str, str]) -> int | None:
    return _index(form) if form.get("index", "") != "" else None


def _offset(form: dict[str, str]) -> int:
    return -1 if form.get("direction") == "up" else 1


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
    "prerequisites": "Prerequisites saved.",
    "evaluation": "Evaluation question saved.",
    "evaluation-order": "Evaluation order saved.",
    "evaluation-removed": "Evaluation question removed.",
    "approval": "Approval saved.",
    "approval-order": "Approval order saved.",
    "approval-removed": "Approval removed.",
    "closing": "Closing page saved.",
    "closing-removed": "Closing page removed from the draft.",
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
    try:
        closing: studio.ClosingPage | None = studio.closing_page(draft)
    except Invalid:
        closing = None  # not a file name: the course page says so, the source editor fixes it
    context: dict[str, Any] = {
        "draft": draft,
        "course": course,
        "check": check,
        "form": studio.course_form(draft),
        "errors": errors.fields,
        "list_errors": errors,
        "prerequisites": studio.module_prerequisites(draft),
        "evaluation": studio.course_items(draft, "evaluation"),
        "approvals": studio.course_items(draft, "approvals"),
        "closing": closing,
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


@router.post("/courses/{slug}/prerequisites", response_class=HTMLResponse)
def save_prerequisites(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    form: FormFields,
) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    studio.save_prerequisites(session, draft, form, now=now)
    session.commit()
    if studio.course_errors(_check(draft, settings), draft).prerequisites.with_errors:
        return _course_page(request, session, settings, draft, 422)
    return _see_other(f"{_base(slug)}?saved=prerequisites#prerequisites")


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


# --- course.yaml's evaluation questions and approvals -------------------------------------------

_ITEM_PAGES: dict[studio.CourseList, tuple[str, str]] = {
    "evaluation": ("studio/evaluation.html", "evaluation"),
    "approvals": ("studio/approval.html", "approval"),
}


def _item_page(
    request: Request,
    settings: Settings,
    draft: StudioDraft,
    key: studio.CourseList,
    index: int | None,
    status: int = 200,
) -> Response:
    items = studio.course_items(draft, key)
    if index is not None and not 0 <= index < len(items):
        raise NotFound("no such item in course.yaml")
    item = items[index] if index is not None else {}
    errors = studio.course_errors(_check(draft, settings), draft)
    item_errors = (errors.evaluation if key == "evaluation" else errors.approvals).get(index)
    template, _ = _ITEM_PAGES[key]
    return render(
        request,
        template,
        status,
        draft=draft,
        index=index,
        form=studio.evaluation_form(item) if key == "evaluation" else studio.approval_form(item),
        errors=item_errors if index is not None else {},
        bodies=studio.APPROVAL_BODIES,
        evaluation_types=studio.EVALUATION_TYPES,
    )


def _save_item(
    request: Request,
    session: SessionDep,
    settings: Settings,
    user: User,
    slug: str,
    key: studio.CourseList,
    form: dict[str, str],
) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    save = studio.save_evaluation_question if key == "evaluation" else studio.save_approval
    index = save(session, draft, _optional_index(form), form, now=now)
    session.commit()
    errors = studio.course_errors(_check(draft, settings), draft)
    if index in (errors.evaluation if key == "evaluation" else errors.approvals).with_errors:
        return _item_page(request, settings, draft, key, index, 422)
    return _see_other(f"{_base(slug)}?saved={_ITEM_PAGES[key][1]}#{key}")


def _move_item(
    session: SessionDep, user: User, slug: str, key: studio.CourseList, form: dict[str, str]
) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    studio.move_course_item(session, draft, key, _index(form), _offset(form), now=now)
    session.commit()
    return _see_other(f"{_base(slug)}?saved={_ITEM_PAGES[key][1]}-order#{key}")


def _remove_item(
    session: SessionDep, user: User, slug: str, key: studio.CourseList, form: dict[str, str]
) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    studio.remove_course_item(session, draft, key, _index(form), now=now)
    session.commit()
    return _see_other(f"{_base(slug)}?saved={_ITEM_PAGES[key][1]}-removed#{key}")


@router.get("/courses/{slug}/evaluation", response_class=HTMLResponse)
def evaluation_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    index: int | None = None,
) -> Response:
    draft = studio.get_draft(session, user, slug, now=utcnow())
    return _item_page(request, settings, draft, "evaluation", index)


@router.post("/courses/{slug}/evaluation", response_class=HTMLResponse)
def save_evaluation_question(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    form: FormFields,
) -> Response:
    return _save_item(request, session, settings, user, slug, "evaluation", form)


@router.post("/courses/{slug}/evaluation/move")
def move_evaluation_question(
    session: SessionDep, user: WebStaff, slug: str, form: FormFields
) -> Response:
    return _move_item(session, user, slug, "evaluation", form)


@router.post("/courses/{slug}/evaluation/remove")
def remove_evaluation_question(
    session: SessionDep, user: WebStaff, slug: str, form: FormFields
) -> Response:
    return _remove_item(session, user, slug, "evaluation", form)


@router.get("/courses/{slug}/approvals", response_class=HTMLResponse)
def approval_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    index: int | None = None,
) -> Response:
    draft = studio.get_draft(session, user, slug, now=utcnow())
    return _item_page(request, settings, draft, "approvals", index)


@router.post("/courses/{slug}/approvals", response_class=HTMLResponse)
def save_approval(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    form: FormFields,
) -> Response:
    return _save_item(request, session, settings, user, slug, "approvals", form)


@router.post("/courses/{slug}/approvals/move")
def move_approval(session: SessionDep, user: WebStaff, slug: str, form: FormFields) -> Response:
    return _move_item(session, user, slug, "approvals", form)


@router.post("/courses/{slug}/approvals/remove")
def remove_approval(session: SessionDep, user: WebStaff, slug: str, form: FormFields) -> Response:
    return _remove_item(session, user, slug, "approvals", form)


# --- the closing page --------------------------------------------------------------------------


def _closing_page(
    request: Request, settings: Settings, draft: StudioDraft, status: int = 200
) -> Response:
    page = studio.closing_page(draft)
    form = studio.closing_form(draft, page)
    errors = studio.closing_errors(_check(draft, settings), draft, page)
    return render(
        request,
        "studio/closing.html",
        status,
        draft=draft,
        page=page,
        form=form,
        errors=errors.fields,
        other=errors.other,
        rendered=studio.preview(draft, form["body"]),
        message=_message(request),
    )


@router.get("/courses/{slug}/closing", response_class=HTMLResponse)
def closing_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: WebStaff, slug: str
) -> Response:
    draft = studio.get_draft(session, user, slug, now=utcnow())
    return _closing_page(request, settings, draft)


@router.post("/courses/{slug}/closing", response_class=HTMLResponse)
def save_closing(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: WebStaff,
    slug: str,
    form: FormFields,
) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    page = studio.save_closing(session, draft, form, now=now)
    session.commit()
    if studio.closing_errors(_check(draft, settings), draft, page).has_errors:
        return _closing_page(request, settings, draft, 422)
    return _see_other(f"{_base(slug)}/closing?saved=closing")


@router.post("/courses/{slug}/closing/remove")
def remove_closing(session: SessionDep, user: WebStaff, slug: str) -> Response:
    now = utcnow()
    draft = studio.get_draft(session, user, slug, now=now)
    studio.remove_closing(session, draft, now=now)
    session.commit()
    return _see_other(f"{_base(slug)}?saved=closing-removed#closing")


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
