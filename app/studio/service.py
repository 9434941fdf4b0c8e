"""Browser authoring: a course's draft files, checks, publish and history.

A draft holds the same files as `courses/<slug>/` and `quizzes/<slug>/` on disk. Every form edit
rewrites one file's text; checking writes the files to a temporary folder and runs
`load_content`, and publishing goes through `importer.import_specs`, so the browser and
`lms content` are one system with one set of rules."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.audit import service as audit
from app.certificates.accreditation import BODIES
from app.core.errors import Conflict, Invalid, NotFound
from app.courses.markdown import Rendered, render_markdown
from app.courses.models import Course, Module, ModuleVersion
from app.licences.professions import PROFESSIONS
from app.quizzes.models import QuizBank, QuizVersion
from app.studio import importer
from app.studio.bibliography import parse_bibtex
from app.studio.models import StudioDraft, StudioPublish
from app.studio.parsing import CourseSpec, Problem, load_content
from app.studio.serialize import (
    DiffRow,
    Loc,
    clean_text,
    day,
    diff_rows,
    dump_yaml,
    join_module,
    lines_of,
    load_yaml_mapping,
    number,
    problem_loc,
    split_module,
)

FINAL = "final"
MAX_OPTIONS = 8
COURSE_FIELDS = (
    "title",
    "summary",
    "audience",
    "ce_hours",
    "instructional_level",
    "delivery_format",
    "objectives",
    "authors",
    "provider_name",
    "accreditation_statement",
    "release_date",
    "last_review_date",
    "expires_on",
    "certificate_validity_months",
    "status",
    "pass_mark_statement",
    "credit_basis",
)
EVALUATION_FIELDS = ("id", "type", "prompt", "required")
EVALUATION_TYPES = ("likert", "text")
APPROVAL_FIELDS = (
    "id",
    "body",
    "body_name",
    "number",
    "statement",
    "credit_type",
    "credit_amount",
    "professions",
    "states",
    "valid_from",
    "valid_until",
    "min_pass_mark",
)
CEBROKER_FIELDS = (
    "provider_tracking_number",
    "course_tracking_number",
    "profession_codes",
    "subject_code",
    "hours",
)
CLOSING_FILE = "closing.md"
PAGE_FIELDS = ("title", "body")
MODULE_FIELDS = ("title", "estimated_minutes", "objectives", "body")
QUIZ_FIELDS = (
    "title",
    "pass_mark",
    "draw",
    "max_attempts",
    "cooldown_hours",
    "time_limit_minutes",
    "reveal",
)
QUESTION_FIELDS = (
    "id",
    "type",
    "prompt",
    "options",
    "answer",
    "tolerance",
    "explanation",
    "reference",
)
_SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_MODULE_FILE_RE = re.compile(r"(\d{2,3})-([a-z0-9]+(?:-[a-z0-9]+)*)\.md")
_QUESTION_PREFIX_RE = re.compile(r"^question '[^']*': ")
_TEXT_SUFFIXES = {".md", ".yaml", ".yml", ".bib"}


# --- reading --------------------------------------------------------------------------------


@dataclass
class StudioCourse:
    slug: str
    title: str
    status: str  # the published course's status, or "new" before the first publish
    has_draft: bool


@dataclass
class DraftModule:
    slug: str
    file: str
    title: str
    path: str
    quiz_path: str


def is_admin(user: User) -> bool:
    return user.role == Role.admin


def _may_edit(user: User, owner_id: int | None) -> bool:
    return is_admin(user) or (owner_id is not None and owner_id == user.id)


def find_course(session: Session, slug: str) -> Course | None:
    return session.exec(select(Course).where(Course.slug == slug)).first()


def list_courses(session: Session, user: User) -> list[StudioCourse]:
    """Courses the user may edit: their own (admins: all), published or not, with drafts."""
    drafts = {d.course_slug: d for d in session.exec(select(StudioDraft))}
    out: dict[str, StudioCourse] = {}
    for course in session.exec(select(Course).order_by(col(Course.title))):
        if _may_edit(user, course.owner_id):
            out[course.slug] = StudioCourse(
                course.slug, course.title, course.status.value, course.slug in drafts
            )
    for slug, draft in drafts.items():
        if (
            slug not in out
            and find_course(session, slug) is None
            and _may_edit(user, draft.owner_id)
        ):
            title = str(load_yaml_mapping(draft.files.get(course_yaml_path(slug), "")).get("title"))
            out[slug] = StudioCourse(slug, title, "new", True)
    return sorted(out.values(), key=lambda c: c.title.lower())


def published_files(session: Session, course: Course) -> dict[str, str]:
    """The course's current files, exactly as `lms content export` writes them."""
    base, quiz_base = f"courses/{course.slug}", f"quizzes/{course.slug}"
    files = {f"{base}/course.yaml": course.course_yaml_source}
    if course.bibliography_source:
        files[f"{base}/references.bib"] = course.bibliography_source
    if course.closing_source:
        files[f"{base}/closing.md"] = course.closing_source
    modules = session.exec(
        select(Module, ModuleVersion)
        .join(ModuleVersion, col(ModuleVersion.id) == Module.current_version_id)
        .where(Module.course_id == course.id, col(Module.is_active))
    )
    for module, version in modules:
        files[f"{base}/{module.file_name}"] = version.source
    banks = session.exec(
        select(QuizBank, QuizVersion)
        .join(QuizVersion, col(QuizVersion.id) == QuizBank.current_version_id)
        .where(QuizBank.course_id == course.id)
    )
    for bank, quiz in banks:
        files[f"{quiz_base}/{bank.file_name}"] = quiz.source
    return files


def get_draft(session: Session, user: User, slug: str, *, now: datetime) -> StudioDraft:
    """The saved draft, else an unsaved copy of the published files; NotFound unless the user
    owns the course or is an admin (another instructor's course does not exist for them)."""
    draft = session.exec(select(StudioDraft).where(StudioDraft.course_slug == slug)).first()
    course = find_course(session, slug)
    owner_id = course.owner_id if course is not None else (draft.owner_id if draft else None)
    if (course is None and draft is None) or not _may_edit(user, owner_id):
        raise NotFound("no such course in your studio")
    if draft is not None:
        return draft
    assert course is not None  # noqa: S101
    return StudioDraft(
        course_slug=slug,
        owner_id=course.owner_id or user.id,
        files=published_files(session, course),
        base_hash=course.content_hash,
        created_at=now,
        updated_at=now,
    )


def is_stale(session: Session, draft: StudioDraft) -> bool:
    """True when the published course changed (e.g. `lms content import`) after the draft began."""
    course = find_course(session, draft.course_slug)
    return draft.id is not None and course is not None and course.content_hash != draft.base_hash


def course_yaml_path(slug: str) -> str:
    return f"courses/{slug}/course.yaml"


def bibliography_path(slug: str) -> str:
    return f"courses/{slug}/references.bib"


def _course_data(draft: StudioDraft) -> dict[str, Any]:
    text = draft.files.get(course_yaml_path(draft.course_slug), "")
    data = load_yaml_mapping(text)
    if not data:
        raise Invalid("course.yaml does not parse: fix it in its source editor first")
    return data


def modules(draft: StudioDraft) -> list[DraftModule]:
    """The draft's modules in course order (entries that are not NN-slug.md files are skipped)."""
    data = load_yaml_mapping(draft.files.get(course_yaml_path(draft.course_slug), ""))
    out: list[DraftModule] = []
    refs = data.get("modules")
    for ref in refs if isinstance(refs, list) else []:
        file = ref.get("file") if isinstance(ref, dict) else None
        match = _MODULE_FILE_RE.fullmatch(file) if isinstance(file, str) else None
        if match is None or file is None:
            continue
        slug = match.group(2)
        path = f"courses/{draft.course_slug}/{file}"
        title = str(split_module(draft.files.get(path, "")).front.get("title") or slug)
        quiz_path = f"quizzes/{draft.course_slug}/{slug}.yaml"
        out.append(DraftModule(slug, file, title, path, quiz_path))
    return out


def get_module(draft: StudioDraft, slug: str) -> DraftModule:
    for module in modules(draft):
        if module.slug == slug:
            return module
    raise NotFound(f"no module '{slug}' in this course")


def quiz_path(draft: StudioDraft, key: str) -> str:
    """The draft file of a module's quiz bank or (key "final") the final exam; NotFound."""
    if key == FINAL:
        name = load_yaml_mapping(draft.files.get(course_yaml_path(draft.course_slug), "")).get(
            "final_exam"
        )
        path = f"quizzes/{draft.course_slug}/{name if isinstance(name, str) else 'final.yaml'}"
    else:
        path = get_module(draft, key).quiz_path
    if path not in draft.files:
        raise NotFound(f"no quiz bank {path} in this draft")
    return path


# --- checking ----------------------------------------------------------------------------------


@dataclass
class DraftCheck:
    problems: list[Problem]
    stats: list[str]
    spec: CourseSpec | None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def _safe_rel(slug: str, path: str) -> bool:
    parts = path.split("/")
    return (
        len(parts) >= 3
        and parts[0] in ("courses", "quizzes")
        and parts[1] == slug
        and all(part not in ("", ".", "..") and "\\" not in part for part in parts)
    )


def check_draft(draft: StudioDraft, *, today: date, assets: Path | None = None) -> DraftCheck:
    """Runs `lms content check`'s own loader on the draft's files (images come from `assets`,
    the course folder on disk); never raises on content."""
    slug = draft.course_slug
    with tempfile.TemporaryDirectory(prefix="studio-") as tmp:
        root = Path(tmp)
        (root / "courses" / slug).mkdir(parents=True)
        for rel, text in draft.files.items():
            if not _safe_rel(slug, rel):
                continue
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8"))
        if assets is not None and assets.is_dir():
            for entry in assets.iterdir():
                target = root / "courses" / slug / entry.name
                if entry.suffix.lower() not in _TEXT_SUFFIXES and not target.exists():
                    target.symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
        report = load_content(root, today=today)
    spec = next((c for c in report.courses if c.slug == slug), None)
    return DraftCheck(report.problems, report.stats, spec)


@dataclass
class ItemErrors:
    """Problems of the items of one list in a file (quiz questions, evaluation questions,
    approvals, modules' prerequisites), by item, then by form field; `ITEM` for the item as a
    whole."""

    by_item: dict[Any, dict[str, list[str]]] = field(default_factory=dict)
    with_errors: set[Any] = field(default_factory=set)  # items with errors, not only warnings

    def add(self, item: Any, name: str, problem: Problem, message: str | None = None) -> None:
        self.by_item.setdefault(item, {}).setdefault(name, []).append(_shown(problem, message))
        if problem.severity == "error":
            self.with_errors.add(item)

    def get(self, item: Any) -> dict[str, list[str]]:
        return self.by_item.get(item, {})


ITEM = "item"


@dataclass
class FieldErrors:
    """Problems of one file, by form field where one fits; the rest in `other`."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    questions: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    other: list[Problem] = field(default_factory=list)
    has_errors: bool = False  # in `fields`; warnings are shown too, but do not count
    questions_with_errors: set[int] = field(default_factory=set)
    # course.yaml's lists, edited by their own forms: a problem there is not one of `fields`.
    evaluation: ItemErrors = field(default_factory=ItemErrors)  # by index
    approvals: ItemErrors = field(default_factory=ItemErrors)  # by index
    prerequisites: ItemErrors = field(default_factory=ItemErrors)  # by module slug
    sections: dict[str, list[str]] = field(default_factory=dict)  # "evaluation", "approvals"...

    def add(self, name: str, problem: Problem, message: str | None = None) -> None:
        self.fields.setdefault(name, []).append(_shown(problem, message))
        self.has_errors |= problem.severity == "error"

    def add_question(self, index: int, name: str, problem: Problem) -> None:
        message = _shown(problem, _QUESTION_PREFIX_RE.sub("", problem.message))
        self.questions.setdefault(index, {}).setdefault(name, []).append(message)
        if problem.severity == "error":
            self.questions_with_errors.add(index)

    def add_section(self, name: str, problem: Problem) -> None:
        self.sections.setdefault(name, []).append(_shown(problem))


def _shown(problem: Problem, message: str | None = None) -> str:
    text = problem.message if message is None else message
    return f"Warning: {text}" if problem.severity == "warning" else text


def course_errors(check: DraftCheck, draft: StudioDraft) -> FieldErrors:
    """course.yaml's problems by the form field they concern: the details form's fields, each
    evaluation question's, each approval's, each module's prerequisites; the rest in `other`."""
    path = course_yaml_path(draft.course_slug)
    text = draft.files.get(path, "")
    module_slugs = _module_slugs_by_index(load_yaml_mapping(text))
    out = FieldErrors()
    for problem in check.problems:
        if problem.path != path:
            continue
        loc = problem_loc(text, problem.line, problem.message)
        name = str(loc[0]) if loc else ""
        index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
        if name == "provider":
            name = (
                "accreditation_statement"
                if loc[1:2] == ("accreditation_statement",)
                else ("provider_name")
            )
        if name in COURSE_FIELDS:
            out.add(name, problem)
        elif name == "evaluation" and index is not None:
            key = str(loc[2]) if len(loc) > 2 else ITEM
            out.evaluation.add(index, key if key in EVALUATION_FIELDS else ITEM, problem)
        elif name == "approvals" and index is not None:
            _add_approval_problem(out, index, loc[2:], problem)
        elif name == "modules" and index is not None and loc[2:3] == ("prerequisites",):
            slug = module_slugs.get(index)
            if slug is None:
                out.other.append(problem)
            else:
                out.prerequisites.add(slug, ITEM, problem)
        elif name in ("evaluation", "approvals", "closing"):
            out.add_section(name, problem)
        else:
            out.other.append(problem)
    return out


# Accreditation-rule failures name the setting that breaks the rule; each belongs next to the
# field an author changes to meet it (the final exam's pass mark is compared with min_pass_mark).
_RULE_FIELDS = (
    ("final exam's pass mark", "min_pass_mark"),
    ("credits, more than the course's", "credit_amount"),
    ("needs the course's credit_basis", "credit_basis"),
    ("needs a delivery_format", "delivery_format"),
    ("needs an instructional_level", "instructional_level"),
)


def _add_approval_problem(out: FieldErrors, index: int, rest: Loc, problem: Problem) -> None:
    name = str(rest[0]) if rest else ITEM
    if problem.message.startswith("accreditation rule:"):
        name = next((f for text, f in _RULE_FIELDS if text in problem.message), ITEM)
        if name in COURSE_FIELDS:
            out.add(name, problem)  # fixed in the details form, and shown with the approval
            name = ITEM
    elif "name the state board in body_name" in problem.message:
        name = "body_name"
    elif name == "cebroker":
        sub = str(rest[1]) if len(rest) > 1 else ""
        name = f"cebroker_{sub}" if sub in CEBROKER_FIELDS else "cebroker"
    if name not in APPROVAL_FIELDS and name != "cebroker" and not name.startswith("cebroker_"):
        name = ITEM
    out.approvals.add(index, name, problem)


def module_errors(check: DraftCheck, draft: StudioDraft, module: DraftModule) -> FieldErrors:
    return _page_errors(check, draft, module.path, MODULE_FIELDS)


def _page_errors(
    check: DraftCheck, draft: StudioDraft, path: str, names: tuple[str, ...]
) -> FieldErrors:
    parts = split_module(draft.files.get(path, ""))
    out = FieldErrors()
    for problem in check.problems:
        if problem.path != path:
            continue
        if problem.line > parts.body_offset:
            # The editor shows the body without the blank lines after the front matter.
            shown = (
                problem.line - parts.body_offset - (len(parts.body) - len(parts.body.lstrip("\n")))
            )
            out.add("body", problem, f"line {max(shown, 1)}: {problem.message}")
            continue
        loc = problem_loc(parts.front_text, problem.line - 1, problem.message)
        name = str(loc[0]) if loc else ""
        if name in names:
            out.add(name, problem)
        else:
            out.other.append(problem)
    return out


def quiz_errors(check: DraftCheck, draft: StudioDraft, path: str) -> FieldErrors:
    text = draft.files.get(path, "")
    out = FieldErrors()
    for problem in check.problems:
        if problem.path != path:
            continue
        loc = problem_loc(text, problem.line, problem.message)
        if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
            name = str(loc[2]) if len(loc) > 2 else "prompt"
            name = name if name in QUESTION_FIELDS else "prompt"
            out.add_question(loc[1], name, problem)
        elif loc and loc[0] in QUIZ_FIELDS:
            out.add(str(loc[0]), problem)
        else:
            out.other.append(problem)
    return out


# --- writing -----------------------------------------------------------------------------------


def _set_files(
    session: Session, draft: StudioDraft, changes: Mapping[str, str | None], *, now: datetime
) -> None:
    files = dict(draft.files)
    for path, text in changes.items():
        if text is None:
            files.pop(path, None)
        else:
            files[path] = text
    draft.files = files  # a new dict, so the JSON column is seen as changed
    draft.updated_at = now
    session.add(draft)
    session.flush()


def _skeleton_module(slug: str, title: str) -> str:
    front = {"slug": slug, "title": title, "objectives": [f"Describe the key points of {title}."]}
    body = f"# {title}\n\n## Overview\n\nWrite the module here.\n"
    return join_module(front, body)


def _skeleton_quiz(title: str, question_id: str, reference: str) -> str:
    return dump_yaml(
        {
            "title": title,
            "pass_mark": 0.8,
            "max_attempts": 3,
            "cooldown_hours": 24,
            "reveal": "after_pass",
            "questions": [
                {
                    "id": question_id,
                    "type": "true_false",
                    "prompt": "Replace this statement with a true or false question.",
                    "answer": True,
                    "explanation": "Explain the answer in one or two sentences.",
                    "reference": reference,
                }
            ],
        }
    )


def create_course(
    session: Session, user: User, slug: str, title: str, *, now: datetime
) -> StudioDraft:
    """Starts a new course's draft from a minimal valid skeleton; Invalid or Conflict (field=)."""
    slug, title = slug.strip(), title.strip()
    if not _SLUG_RE.fullmatch(slug) or len(slug) > 100:
        raise Invalid(
            "use lower-case letters, digits and single hyphens, e.g. 'wound-care'", field="slug"
        )
    if not title:
        raise Invalid("a course needs a title", field="title")
    exists = (
        find_course(session, slug) is not None
        or session.exec(select(StudioDraft.id).where(StudioDraft.course_slug == slug)).first()
        is not None
    )
    if exists:
        raise Conflict(f"a course '{slug}' already exists", field="slug")
    today = now.date()
    course = {
        "slug": slug,
        "title": title,
        "summary": "One paragraph shown on the course page.",
        "audience": "Licensed clinicians.",
        "ce_hours": 1.0,
        "instructional_level": "introductory",
        "delivery_format": "Self-paced online, reading-based",
        "objectives": ["Describe what this course covers."],
        "authors": [{"name": user.full_name, "disclosure": "None"}],
        "provider": {
            "name": "Example CE Provider",
            "accreditation_statement": "State who approves this provider to offer CE.",
        },
        "release_date": today,
        "last_review_date": today,
        "expires_on": today.replace(year=today.year + 3, day=min(today.day, 28)),
        "certificate_validity_months": 36,
        "status": "draft",
        "modules": [{"file": "01-introduction.md"}],
        "final_exam": "final.yaml",
        "evaluation": [
            {
                "id": "objectives-met",
                "type": "likert",
                "prompt": "The course met its stated learning objectives.",
                "required": True,
            }
        ],
    }
    draft = StudioDraft(
        course_slug=slug, owner_id=user.id, files={}, base_hash="", created_at=now, updated_at=now
    )
    _set_files(
        session,
        draft,
        {
            course_yaml_path(slug): dump_yaml(course),
            f"courses/{slug}/01-introduction.md": _skeleton_module("introduction", "Introduction"),
            f"quizzes/{slug}/introduction.yaml": _skeleton_quiz(
                "Introduction check", "introduction-1", "#overview"
            ),
            f"quizzes/{slug}/final.yaml": _skeleton_quiz(
                "Final exam", "final-1", "introduction#overview"
            ),
        },
        now=now,
    )
    return draft


def course_form(draft: StudioDraft) -> dict[str, str]:
    """course.yaml's editable fields as form strings."""
    data = load_yaml_mapping(draft.files.get(course_yaml_path(draft.course_slug), ""))
    provider = data.get("provider") if isinstance(data.get("provider"), dict) else {}
    form = {name: "" if data.get(name) is None else str(data.get(name)) for name in COURSE_FIELDS}
    objectives = data.get("objectives")
    form["objectives"] = "\n".join(map(str, objectives)) if isinstance(objectives, list) else ""
    authors = data.get("authors")
    form["authors"] = "\n".join(
        " | ".join(str(a.get(k, "")) for k in ("name", "credentials", "disclosure"))
        for a in (authors if isinstance(authors, list) else [])
        if isinstance(a, dict)
    )
    form["provider_name"] = str((provider or {}).get("name", ""))
    form["accreditation_statement"] = str((provider or {}).get("accreditation_statement", ""))
    return form


def _authors(value: str) -> list[dict[str, str]]:
    authors = []
    for line in lines_of(value):
        parts = [part.strip() for part in line.split("|")]
        author = {"name": parts[0]}
        if len(parts) >= 3:
            if parts[1]:
                author["credentials"] = parts[1]
            author["disclosure"] = " | ".join(parts[2:])
        elif len(parts) == 2:
            author["disclosure"] = parts[1]
        authors.append(author)
    return authors


def save_course(
    session: Session, draft: StudioDraft, form: Mapping[str, str], *, now: datetime
) -> None:
    """Rewrites course.yaml's scalar fields, objectives, authors and provider from the form;
    keeps modules, final exam, evaluation, approvals and closing page as they are."""
    data = _course_data(draft)

    def text(name: str) -> str:
        return clean_text(form.get(name, "")).strip()

    for name in ("title", "summary", "audience", "instructional_level", "delivery_format"):
        data[name] = text(name)
    data["ce_hours"] = number(text("ce_hours"))
    data["objectives"] = lines_of(form.get("objectives", ""))
    data["authors"] = _authors(form.get("authors", ""))
    provider = data.get("provider") if isinstance(data.get("provider"), dict) else {}
    data["provider"] = {
        **(provider or {}),
        "name": text("provider_name"),
        "accreditation_statement": text("accreditation_statement"),
    }
    for name in ("release_date", "last_review_date", "expires_on"):
        data[name] = day(text(name))
    data["certificate_validity_months"] = number(text("certificate_validity_months"))
    data["status"] = text("status")
    if text("pass_mark_statement"):
        data["pass_mark_statement"] = text("pass_mark_statement")
    else:
        data.pop("pass_mark_statement", None)
    if "credit_basis" in form:  # a form without the field leaves it as it is
        if text("credit_basis"):
            _put(data, "credit_basis", text("credit_basis"), after="delivery_format")
        else:
            data.pop("credit_basis", None)
    _save_course_yaml(session, draft, data, now=now)


def add_module(
    session: Session, draft: StudioDraft, slug: str, title: str, *, now: datetime
) -> DraftModule:
    """Appends a module (NN-slug.md) and its one-question quiz bank; Invalid/Conflict (field=)."""
    slug, title = slug.strip(), title.strip()
    if not _SLUG_RE.fullmatch(slug) or len(slug) > 90:
        raise Invalid(
            "use lower-case letters, digits and single hyphens, e.g. 'dosing'", field="slug"
        )
    if not title:
        raise Invalid("a module needs a title", field="title")
    existing = modules(draft)
    if any(m.slug == slug for m in existing) or slug == FINAL:
        raise Conflict(f"a module '{slug}' already exists", field="slug")
    data = _course_data(draft)
    numbers = [int(m.file.split("-", 1)[0]) for m in existing]  # NN- is checked by modules()
    file = f"{max(numbers, default=0) + 1:02d}-{slug}.md"
    refs = data.get("modules") if isinstance(data.get("modules"), list) else []
    data["modules"] = [*(refs or []), {"file": file}]
    course = draft.course_slug
    _set_files(
        session,
        draft,
        {
            course_yaml_path(course): dump_yaml(data),
            f"courses/{course}/{file}": _skeleton_module(slug, title),
            f"quizzes/{course}/{slug}.yaml": _skeleton_quiz(
                f"{title} check", f"{slug}-1", "#overview"
            ),
        },
        now=now,
    )
    return get_module(draft, slug)


def _module_refs(draft: StudioDraft) -> tuple[dict[str, Any], list[Any], int]:
    data = _course_data(draft)
    refs = data.get("modules")
    if not isinstance(refs, list):
        raise Invalid("course.yaml has no module list: fix it in its source editor first")
    return data, refs, len(refs)


def move_module(
    session: Session, draft: StudioDraft, slug: str, offset: int, *, now: datetime
) -> None:
    """Moves a module up (-1) or down (+1) in course.yaml; a move past either end does nothing."""
    module = get_module(draft, slug)
    data, refs, count = _module_refs(draft)
    index = next(
        i for i, r in enumerate(refs) if isinstance(r, dict) and r.get("file") == module.file
    )
    target = index + offset
    if 0 <= target < count:
        refs[index], refs[target] = refs[target], refs[index]
        _set_files(session, draft, {course_yaml_path(draft.course_slug): dump_yaml(data)}, now=now)


def remove_module(session: Session, draft: StudioDraft, slug: str, *, now: datetime) -> None:
    """Removes a module, its file and its quiz bank from the draft; the last one stays (Invalid)."""
    module = get_module(draft, slug)
    data, refs, count = _module_refs(draft)
    if count <= 1:
        raise Invalid("a course needs at least one module")
    data["modules"] = [
        r for r in refs if not (isinstance(r, dict) and r.get("file") == module.file)
    ]
    _set_files(
        session,
        draft,
        {
            course_yaml_path(draft.course_slug): dump_yaml(data),
            module.path: None,
            module.quiz_path: None,
        },
        now=now,
    )


def module_form(draft: StudioDraft, module: DraftModule) -> dict[str, str]:
    parts = split_module(draft.files.get(module.path, ""))
    objectives = parts.front.get("objectives")
    minutes = parts.front.get("estimated_minutes")
    return {
        "title": str(parts.front.get("title") or ""),
        "estimated_minutes": "" if minutes is None else str(minutes),
        "objectives": "\n".join(map(str, objectives)) if isinstance(objectives, list) else "",
        "body": parts.body.lstrip("\n"),
    }


def save_module(
    session: Session,
    draft: StudioDraft,
    module: DraftModule,
    form: Mapping[str, str],
    *,
    now: datetime,
) -> None:
    """Rewrites the module file: front matter from the fields, then the Markdown body."""
    parts = split_module(draft.files.get(module.path, ""))
    front: dict[str, Any] = {"slug": module.slug, **parts.front}
    front["title"] = clean_text(form.get("title", "")).strip()
    minutes = form.get("estimated_minutes", "").strip()
    front.pop("estimated_minutes", None)
    objectives = lines_of(form.get("objectives", ""))
    front.pop("objectives", None)
    if minutes:
        front["estimated_minutes"] = number(minutes)
    front["objectives"] = objectives
    text = join_module(front, form.get("body", ""))
    _set_files(session, draft, {module.path: text}, now=now)


def quiz_data(draft: StudioDraft, path: str) -> dict[str, Any]:
    return load_yaml_mapping(draft.files.get(path, ""))


def quiz_questions(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    questions = data.get("questions")
    return (
        [q if isinstance(q, dict) else {} for q in questions] if isinstance(questions, list) else []
    )


def quiz_form(data: Mapping[str, Any]) -> dict[str, str]:
    return {name: "" if data.get(name) is None else str(data.get(name)) for name in QUIZ_FIELDS}


def _quiz_data_or_invalid(draft: StudioDraft, path: str) -> dict[str, Any]:
    data = quiz_data(draft, path)
    if not data:
        raise Invalid(f"{path} does not parse: fix it in its source editor first")
    return data


def save_quiz_settings(
    session: Session, draft: StudioDraft, path: str, form: Mapping[str, str], *, now: datetime
) -> None:
    """Rewrites a bank's settings (title, pass mark, draw, attempts...); questions unchanged."""
    data = _quiz_data_or_invalid(draft, path)
    values: dict[str, Any] = {
        "title": clean_text(form.get("title", "")).strip(),
        "pass_mark": number(form.get("pass_mark", "")),
        "draw": number(form.get("draw", "")) if form.get("draw", "").strip() else None,
        "max_attempts": number(form.get("max_attempts", "")),
        "cooldown_hours": number(form.get("cooldown_hours", "")),
        "time_limit_minutes": (
            number(form.get("time_limit_minutes", ""))
            if form.get("time_limit_minutes", "").strip()
            else None
        ),
        "reveal": form.get("reveal", "").strip(),
    }
    out = {k: v for k, v in values.items() if v is not None}
    out["questions"] = data.get("questions", [])
    out.update({k: v for k, v in data.items() if k not in values and k != "questions"})
    _set_files(session, draft, {path: dump_yaml(out)}, now=now)


def question_form(question: Mapping[str, Any]) -> dict[str, Any]:
    """A question as form values, with room for new options."""
    options = question.get("options")
    rows = [
        {"text": str(o.get("text", "")), "correct": bool(o.get("correct"))}
        for o in (options if isinstance(options, list) else [])
        if isinstance(o, dict)
    ]
    rows += [{"text": "", "correct": False}] * max(
        0, min(MAX_OPTIONS, len(rows) + 2, 4) - len(rows)
    )
    answer = question.get("answer")
    return {
        "id": str(question.get("id", "")),
        "type": str(question.get("type", "single")),
        "prompt": str(question.get("prompt", "")),
        "options": rows[: max(MAX_OPTIONS, len(rows))],
        "answer": ""
        if answer is None
        else (str(answer).lower() if isinstance(answer, bool) else str(answer)),
        "tolerance": "" if question.get("tolerance") is None else str(question.get("tolerance")),
        "explanation": str(question.get("explanation", "")),
        "reference": str(question.get("reference", "")),
    }


def _question_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    kind = form.get("type", "").strip()
    question: dict[str, Any] = {
        "id": form.get("id", "").strip(),
        "type": kind,
        "prompt": clean_text(form.get("prompt", "")).strip(),
    }
    if kind in ("single", "multiple"):
        options = []
        for index in range(MAX_OPTIONS + 2):
            text = clean_text(form.get(f"option_{index}_text", "")).strip()
            if text:
                option: dict[str, Any] = {"text": text}
                if form.get(f"option_{index}_correct"):
                    option["correct"] = True
                options.append(option)
        question["options"] = options
    else:
        answer = form.get("answer", "").strip()
        if kind == "true_false" and answer in ("true", "false"):
            question["answer"] = answer == "true"
        elif answer:
            question["answer"] = number(answer) if kind == "numeric" else answer
        tolerance = form.get("tolerance", "").strip()
        if kind == "numeric" and tolerance:
            question["tolerance"] = number(tolerance)
    question["explanation"] = clean_text(form.get("explanation", "")).strip()
    question["reference"] = form.get("reference", "").strip()
    return question


def save_question(
    session: Session,
    draft: StudioDraft,
    path: str,
    index: int | None,
    form: Mapping[str, str],
    *,
    now: datetime,
) -> int:
    """Adds (index None) or replaces one question from the form; returns its index. The check,
    not this function, judges the result, so an invalid question is kept for fixing."""
    data = _quiz_data_or_invalid(draft, path)
    questions = data.get("questions") if isinstance(data.get("questions"), list) else []
    questions = list(questions or [])
    question = _question_from_form(form)
    if index is None:
        questions.append(question)
        index = len(questions) - 1
    elif 0 <= index < len(questions):
        questions[index] = question
    else:
        raise NotFound("no such question")
    data["questions"] = questions
    _set_files(session, draft, {path: dump_yaml(data)}, now=now)
    return index


def remove_question(
    session: Session, draft: StudioDraft, path: str, index: int, *, now: datetime
) -> None:
    data = _quiz_data_or_invalid(draft, path)
    questions = quiz_questions(data)
    if not 0 <= index < len(questions):
        raise NotFound("no such question")
    del questions[index]
    data["questions"] = questions
    _set_files(session, draft, {path: dump_yaml(data)}, now=now)


# --- course.yaml's lists: evaluation, prerequisites, approvals; the closing page ---------------

CourseList = Literal["evaluation", "approvals"]


def _save_course_yaml(
    session: Session, draft: StudioDraft, data: dict[str, Any], *, now: datetime
) -> None:
    _set_files(session, draft, {course_yaml_path(draft.course_slug): dump_yaml(data)}, now=now)


def _put(data: dict[str, Any], key: str, value: Any, *, after: str) -> None:
    """Sets a key in place; a new key goes right after `after` (else last), where the authoring
    guide lists it, so the file keeps reading in the documented order."""
    if key in data or after not in data:
        data[key] = value
        return
    items = list(data.items())
    data.clear()
    for name, old in items:
        data[name] = old
        if name == after:
            data[key] = value


def _text_of(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _mappings(value: object) -> list[dict[str, Any]]:
    """A YAML list's items, a non-mapping item as {} (the check reports it)."""
    return [v if isinstance(v, dict) else {} for v in value] if isinstance(value, list) else []


def _course_list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(f"course.yaml's {key} is not a list: fix it in its source editor first")
    return value


def _course_yaml(draft: StudioDraft) -> dict[str, Any]:
    return load_yaml_mapping(draft.files.get(course_yaml_path(draft.course_slug), ""))


def course_items(draft: StudioDraft, key: CourseList) -> list[dict[str, Any]]:
    """course.yaml's evaluation questions or approvals as written."""
    return _mappings(_course_yaml(draft).get(key))


def _replace_item(
    session: Session,
    draft: StudioDraft,
    key: CourseList,
    index: int | None,
    build: Callable[[Mapping[str, Any]], dict[str, Any]],
    *,
    now: datetime,
) -> int:
    data = _course_data(draft)
    items = list(_course_list(data, key))
    if index is None:
        items.append(build({}))
        index = len(items) - 1
    elif 0 <= index < len(items):
        old = items[index]
        items[index] = build(old if isinstance(old, dict) else {})
    else:
        raise NotFound("no such item in course.yaml")
    data[key] = items
    _save_course_yaml(session, draft, data, now=now)
    return index


def move_course_item(
    session: Session, draft: StudioDraft, key: CourseList, index: int, offset: int, *, now: datetime
) -> None:
    """Moves an evaluation question or approval up (-1) or down (+1); a move past either end does
    nothing; NotFound for no such item."""
    data = _course_data(draft)
    items = _course_list(data, key)
    if not 0 <= index < len(items):
        raise NotFound("no such item in course.yaml")
    target = index + offset
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]
        _save_course_yaml(session, draft, data, now=now)


def remove_course_item(
    session: Session, draft: StudioDraft, key: CourseList, index: int, *, now: datetime
) -> None:
    """Removes an evaluation question or approval (the check reports an empty evaluation);
    NotFound for no such item."""
    data = _course_data(draft)
    items = _course_list(data, key)
    if not 0 <= index < len(items):
        raise NotFound("no such item in course.yaml")
    del items[index]
    if key == "approvals" and not items:
        data.pop("approvals")  # optional: no approvals is written as no key
    _save_course_yaml(session, draft, data, now=now)


# evaluation questions


def evaluation_form(question: Mapping[str, Any]) -> dict[str, Any]:
    """An evaluation question as form values; {} gives a new required likert question."""
    return {
        "id": _text_of(question.get("id")),
        "type": _text_of(question.get("type")) or "likert",
        "prompt": _text_of(question.get("prompt")),
        "required": question.get("required", True) is True,
    }


def save_evaluation_question(
    session: Session,
    draft: StudioDraft,
    index: int | None,
    form: Mapping[str, str],
    *,
    now: datetime,
) -> int:
    """Adds (index None) or replaces one evaluation question from the form; returns its index.
    The check judges the result, so an invalid question is kept for fixing; NotFound."""

    def build(old: Mapping[str, Any]) -> dict[str, Any]:
        question: dict[str, Any] = {
            "id": form.get("id", "").strip(),
            "type": form.get("type", "").strip(),
            "prompt": clean_text(form.get("prompt", "")).strip(),
            "required": bool(form.get("required")),
        }
        # Keys the form does not know stay, so the check keeps reporting them.
        return question | {k: v for k, v in old.items() if k not in question}

    return _replace_item(session, draft, "evaluation", index, build, now=now)


# prerequisites


@dataclass
class PrerequisiteChoice:
    slug: str
    title: str
    is_checked: bool
    problem: str  # why this listed slug cannot be a prerequisite here; "" for earlier modules


@dataclass
class ModulePrerequisites:
    module: DraftModule
    position: int  # 1-based
    mode: str  # "default" (absent: the previous module) | "none" ([]) | "chosen"
    chosen: list[str]  # as listed in course.yaml
    previous: DraftModule | None
    choices: list[PrerequisiteChoice]  # earlier modules, then listed slugs that are not

    @property
    def summary(self) -> str:
        if self.mode == "default":
            return self.previous.title if self.previous else "none"
        titles = {c.slug: c.title for c in self.choices}
        return ", ".join(titles.get(s, s) for s in self.chosen) or "none"


def _module_slugs_by_index(data: Mapping[str, Any]) -> dict[int, str]:
    refs = data.get("modules")
    out: dict[int, str] = {}
    for index, ref in enumerate(refs if isinstance(refs, list) else []):
        file = ref.get("file") if isinstance(ref, dict) else None
        match = _MODULE_FILE_RE.fullmatch(file) if isinstance(file, str) else None
        if match is not None:
            out[index] = match.group(2)
    return out


def module_prerequisites(draft: StudioDraft) -> list[ModulePrerequisites]:
    """Each module's prerequisites as the form shows them, in course order."""
    listed = modules(draft)
    by_file = {m.file: m for m in listed}
    titles = {m.slug: m.title for m in listed}
    out: list[ModulePrerequisites] = []
    earlier: list[DraftModule] = []
    for ref in _mappings(_course_yaml(draft).get("modules")):
        module = by_file.get(str(ref.get("file")))
        if module is None:
            continue
        value = ref.get("prerequisites")
        chosen = (
            [_text_of(v) for v in value]
            if isinstance(value, list)
            else ([] if value is None else [_text_of(value)])
        )
        mode = "default" if value is None else ("chosen" if chosen else "none")
        choices = [PrerequisiteChoice(m.slug, m.title, m.slug in chosen, "") for m in earlier]
        offered = {m.slug for m in earlier}
        for slug in dict.fromkeys(chosen):
            if slug in offered:
                continue
            problem = (
                "this module itself"
                if slug == module.slug
                else ("comes later in the course" if slug in titles else "not a module")
            )
            choices.append(PrerequisiteChoice(slug, titles.get(slug, slug), True, problem))
        previous = earlier[-1] if earlier else None
        out.append(ModulePrerequisites(module, len(earlier) + 1, mode, chosen, previous, choices))
        earlier.append(module)
    return out


def save_prerequisites(
    session: Session, draft: StudioDraft, form: Mapping[str, str], *, now: datetime
) -> None:
    """Sets each module's prerequisites from the form: `prerequisites:<slug>` is default (the
    previous module), none or chosen, with a `requires:<slug>:<other>` per ticked module. Only
    offered choices count; modules the form leaves out keep theirs; the check judges the rest."""
    data, refs, _ = _module_refs(draft)
    current = {p.module.slug: p for p in module_prerequisites(draft)}
    for index, slug in _module_slugs_by_index(data).items():
        mode = form.get(f"prerequisites:{slug}")
        ref, state = refs[index], current.get(slug)
        if state is None or mode is None or not isinstance(ref, dict):
            continue
        if mode == "default":
            ref.pop("prerequisites", None)
        elif mode == "none":
            ref["prerequisites"] = []
        elif mode == "chosen":
            ticked = [c.slug for c in state.choices if form.get(f"requires:{slug}:{c.slug}")]
            # Kept ones stay in their written order, so an unchanged form changes nothing.
            kept = [s for s in dict.fromkeys(state.chosen) if s in ticked]
            ref["prerequisites"] = kept + [s for s in ticked if s not in kept]
    _save_course_yaml(session, draft, data, now=now)


# approvals

APPROVAL_BODIES: tuple[str, ...] = BODIES


def approval_form(item: Mapping[str, Any]) -> dict[str, Any]:
    """An approval as form values: text fields, a tick per profession (PROFESSIONS first, then
    unknown ones as written), CE Broker's fields prefixed `cebroker_`."""
    form: dict[str, Any] = {
        name: _text_of(item.get(name))
        for name in APPROVAL_FIELDS
        if name not in ("professions", "states")
    }
    form["body"] = form["body"] or "APA"
    written = [_text_of(p) for p in _list_of(item.get("professions"))]
    form["professions"] = [
        {"key": key, "label": label, "is_checked": key in written}
        for key, label in PROFESSIONS.items()
    ] + [
        {"key": key, "label": "unknown profession", "is_checked": True}
        for key in dict.fromkeys(written)
        if key not in PROFESSIONS
    ]
    form["states"] = ", ".join(_text_of(s) for s in _list_of(item.get("states")))
    broker = item.get("cebroker") if isinstance(item.get("cebroker"), dict) else {}
    for name in CEBROKER_FIELDS:
        form[f"cebroker_{name}"] = _text_of((broker or {}).get(name))
    codes = (broker or {}).get("profession_codes")
    form["cebroker_profession_codes"] = (
        "\n".join(f"{k}={_text_of(v)}" for k, v in codes.items())
        if isinstance(codes, dict)
        else _text_of(codes)
    )
    form["has_cebroker"] = bool(broker)
    return form


def _list_of(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _approval_from_form(form: Mapping[str, str], old: Mapping[str, Any]) -> dict[str, Any]:
    def text(name: str) -> str:
        return clean_text(form.get(name, "")).strip()

    written = [_text_of(p) for p in _list_of(old.get("professions"))]
    offered = [*PROFESSIONS, *(p for p in written if p not in PROFESSIONS)]
    ticked = [p for p in offered if form.get(f"profession:{p}")]
    kept = [p for p in dict.fromkeys(written) if p in ticked]
    item: dict[str, Any] = {"id": text("id"), "body": text("body")}
    if text("body_name"):
        item["body_name"] = text("body_name")
    item |= {
        "number": text("number"),
        "statement": text("statement"),
        "credit_type": text("credit_type"),
        "credit_amount": number(text("credit_amount")),
        "professions": kept + [p for p in ticked if p not in kept],
    }
    states = [s for s in re.split(r"[\s,;]+", text("states")) if s]
    if states:
        item["states"] = states
    item["valid_from"] = day(text("valid_from"))
    item["valid_until"] = day(text("valid_until"))
    if text("min_pass_mark"):
        item["min_pass_mark"] = number(text("min_pass_mark"))
    old_broker = old.get("cebroker") if isinstance(old.get("cebroker"), dict) else {}
    broker = _cebroker_from_form(text, old_broker or {})
    if broker is not None:
        item["cebroker"] = broker
    known = {*APPROVAL_FIELDS, "cebroker"}
    return item | {k: v for k, v in old.items() if k not in known}


def _cebroker_from_form(
    text: Callable[[str], str], old: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The cebroker block, or None when all its fields are empty (not reported to CE Broker)."""
    values = {name: text(f"cebroker_{name}") for name in CEBROKER_FIELDS}
    if not any(values.values()):
        return None
    broker: dict[str, Any] = {"provider_tracking_number": values["provider_tracking_number"]}
    if values["course_tracking_number"]:
        broker["course_tracking_number"] = values["course_tracking_number"]
    codes: dict[str, str] = {}
    for line in lines_of(values["profession_codes"]):
        key, _, code = line.partition("=")
        codes[key.strip()] = code.strip()
    broker["profession_codes"] = codes
    if values["subject_code"]:
        broker["subject_code"] = values["subject_code"]
    if values["hours"]:
        broker["hours"] = number(values["hours"])
    return broker | {k: v for k, v in old.items() if k not in CEBROKER_FIELDS}


def save_approval(
    session: Session,
    draft: StudioDraft,
    index: int | None,
    form: Mapping[str, str],
    *,
    now: datetime,
) -> int:
    """Adds (index None) or replaces one approval from the form; returns its index. Empty
    optional fields are left out; an invalid approval is kept for fixing; NotFound."""
    return _replace_item(
        session, draft, "approvals", index, lambda old: _approval_from_form(form, old), now=now
    )


# the closing page


@dataclass
class ClosingPage:
    file: str
    path: str
    is_listed: bool  # named by course.yaml's `closing`; else the editor would create it


def closing_page(draft: StudioDraft) -> ClosingPage:
    """The closing page's file: course.yaml's `closing`, else closing.md to create; Invalid when
    `closing` is not a plain .md file name (fixed in the source editor)."""
    name = _course_yaml(draft).get("closing")
    if name is None:
        return ClosingPage(CLOSING_FILE, f"courses/{draft.course_slug}/{CLOSING_FILE}", False)
    if (
        not isinstance(name, str)
        or not name.endswith(".md")
        or name.startswith(".")
        or "/" in name
        or "\\" in name
    ):
        raise Invalid("course.yaml's closing is not a file name: fix it in its source editor first")
    return ClosingPage(name, f"courses/{draft.course_slug}/{name}", True)


def closing_form(draft: StudioDraft, page: ClosingPage) -> dict[str, str]:
    if page.path not in draft.files:
        return {"title": "Closing", "body": "# Closing\n\nWrite the closing page here.\n"}
    parts = split_module(draft.files[page.path])
    return {"title": _text_of(parts.front.get("title")), "body": parts.body.lstrip("\n")}


def closing_errors(check: DraftCheck, draft: StudioDraft, page: ClosingPage) -> FieldErrors:
    return _page_errors(check, draft, page.path, PAGE_FIELDS)


def save_closing(
    session: Session, draft: StudioDraft, form: Mapping[str, str], *, now: datetime
) -> ClosingPage:
    """Writes the closing page (front matter slug and title, then Markdown), naming it in
    course.yaml when it is new."""
    page = closing_page(draft)
    parts = split_module(draft.files.get(page.path, ""))
    front: dict[str, Any] = {"slug": "closing", **parts.front}
    front["title"] = clean_text(form.get("title", "")).strip()
    changes = {page.path: join_module(front, form.get("body", ""))}
    if not page.is_listed:
        data = _course_data(draft)
        _put(data, "closing", page.file, after="final_exam")
        changes[course_yaml_path(draft.course_slug)] = dump_yaml(data)
    _set_files(session, draft, changes, now=now)
    return ClosingPage(page.file, page.path, True)


def remove_closing(session: Session, draft: StudioDraft, *, now: datetime) -> None:
    """Drops the closing page from course.yaml and the draft; NotFound when there is none."""
    page = closing_page(draft)
    if not page.is_listed:
        raise NotFound("this course has no closing page")
    data = _course_data(draft)
    data.pop("closing", None)
    _set_files(
        session,
        draft,
        {course_yaml_path(draft.course_slug): dump_yaml(data), page.path: None},
        now=now,
    )


def editable_source(draft: StudioDraft, path: str) -> str:
    """A draft file's text for the source editor; references.bib may be new. NotFound otherwise."""
    if path in draft.files:
        return draft.files[path]
    if path == bibliography_path(draft.course_slug):
        return ""
    raise NotFound("no such file in this draft")


def save_source(
    session: Session, draft: StudioDraft, path: str, text: str, *, now: datetime
) -> None:
    """Replaces one draft file's text as typed (an empty references.bib is removed)."""
    editable_source(draft, path)
    text = clean_text(text)
    if path == bibliography_path(draft.course_slug) and not text.strip():
        _set_files(session, draft, {path: None}, now=now)
        return
    _set_files(session, draft, {path: text if text.endswith("\n") else text + "\n"}, now=now)


def discard(session: Session, draft: StudioDraft) -> None:
    """Drops unpublished changes (a never-published course disappears)."""
    if draft.id is not None:
        session.delete(draft)
        session.flush()


def preview(draft: StudioDraft, body: str) -> Rendered:
    """The learners' renderer and sanitizer on unsaved Markdown, with the draft's bibliography."""
    slug = draft.course_slug
    bibliography, _ = parse_bibtex(draft.files.get(bibliography_path(slug), ""))
    urls = {m.file: importer.module_url(slug, m.slug) for m in modules(draft)}
    return render_markdown(
        clean_text(body),
        bibliography=bibliography,
        module_urls=urls,
        asset_base=f"/courses/{slug}/assets/",
    )


# --- publishing --------------------------------------------------------------------------------


@dataclass
class PublishOutcome:
    result: importer.ImportResult
    record: StudioPublish | None  # None when nothing changed


def _versions(session: Session, course: Course | None) -> dict[str, int]:
    if course is None:
        return {}
    rows = session.exec(
        select(Module.slug, ModuleVersion.version)
        .join(ModuleVersion, col(ModuleVersion.id) == Module.current_version_id)
        .where(Module.course_id == course.id, col(Module.is_active))
    )
    return dict(rows.all())


def publish(
    session: Session, user: User, draft: StudioDraft, *, now: datetime, assets: Path | None = None
) -> PublishOutcome:
    """Imports the draft through `importer.import_specs` (new versions for changed files),
    records who published what, and drops the draft. Invalid (with the problems) on any error:
    then nothing is published."""
    check = check_draft(draft, today=now.date(), assets=assets)
    if check.errors or check.spec is None:
        problems = [str(p) for p in check.errors] or ["the course could not be loaded"]
        raise Invalid(f"{len(problems)} problem(s): nothing was published", problems=problems)
    course = find_course(session, draft.course_slug)
    before = published_files(session, course) if course is not None else {}
    versions_before = _versions(session, course)
    result = importer.import_specs(session, [check.spec], now=now)
    course = find_course(session, draft.course_slug)
    assert course is not None and course.id is not None  # noqa: S101
    record: StudioPublish | None = None
    if result.changed:
        if course.owner_id is None:
            course.owner_id = draft.owner_id or user.id
            session.add(course)
        after = published_files(session, course)
        by_path = {m.path: m.slug for m in check.spec.modules}
        versions_after = _versions(session, course)
        changes: list[dict[str, Any]] = []
        for path in sorted(before.keys() | after.keys()):
            if before.get(path) == after.get(path):
                continue
            kind = "added" if path not in before else "removed" if path not in after else "changed"
            change: dict[str, Any] = {"path": path, "change": kind}
            slug = by_path.get(path)
            if slug is not None and versions_after.get(slug) != versions_before.get(slug):
                change.update(module=slug, version=versions_after[slug])
            changes.append(change)
        record = StudioPublish(
            course_id=course.id,
            actor_id=user.id,
            published_at=now,
            summary=result.summary()[:300],
            changes=changes,
        )
        session.add(record)
        audit.record(
            session,
            "studio.publish",
            course.slug,
            {"version": course.version, "changes": changes},
            actor_id=user.id,
            now=now,
        )
    discard(session, draft)
    session.flush()
    return PublishOutcome(result, record)


# --- history -----------------------------------------------------------------------------------


@dataclass
class PublishInfo:
    published_at: datetime
    who: str
    summary: str
    changes: list[dict[str, Any]]


@dataclass
class VersionInfo:
    version: int
    title: str
    created_at: datetime
    content_hash: str
    source: str
    published_by: str  # "" when imported from files


def publishes(session: Session, course: Course) -> list[PublishInfo]:
    rows = session.exec(
        select(StudioPublish, User)
        .join(User, col(User.id) == StudioPublish.actor_id, isouter=True)
        .where(StudioPublish.course_id == course.id)
        .order_by(col(StudioPublish.published_at).desc(), col(StudioPublish.id).desc())
    )
    return [PublishInfo(p.published_at, _who(u), p.summary, list(p.changes)) for p, u in rows.all()]


def _who(user: User | None) -> str:
    return f"{user.full_name} <{user.email}>" if user is not None else "a deleted account"


def module_history(
    session: Session, user: User, slug: str, module_slug: str
) -> tuple[Course, Module, list[VersionInfo]]:
    """A published module's versions, newest first, with who published each from the studio;
    NotFound for anyone but the owner or an admin."""
    course = find_course(session, slug)
    if course is None or not _may_edit(user, course.owner_id):
        raise NotFound("no such course in your studio")
    module = session.exec(
        select(Module).where(Module.course_id == course.id, Module.slug == module_slug)
    ).first()
    if module is None:
        raise NotFound("this module has not been published yet")
    by_version: dict[int, str] = {}
    for info in publishes(session, course):
        for change in info.changes:
            if change.get("module") == module_slug and "version" in change:
                by_version.setdefault(int(change["version"]), info.who)
    versions = session.exec(
        select(ModuleVersion)
        .where(ModuleVersion.module_id == module.id)
        .order_by(col(ModuleVersion.version).desc())
    )
    return (
        course,
        module,
        [
            VersionInfo(
                v.version,
                v.title,
                v.created_at,
                v.content_hash,
                v.source,
                by_version.get(v.version, ""),
            )
            for v in versions
        ],
    )


def version_diff(versions: list[VersionInfo], old: int, new: int) -> list[DiffRow]:
    """Line diff between two versions of one module; NotFound for an unknown version."""
    sources = {v.version: v.source for v in versions}
    if old not in sources or new not in sources:
        raise NotFound("no such version")
    return diff_rows(sources[old], sources[new])
