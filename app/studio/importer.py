"""Content files -> database, in the caller's transaction (all or nothing).

Every module and quiz version is keyed by the SHA-256 of its source file: importing unchanged
content creates nothing, and a changed file makes a new version of the same module or bank, so
learners' progress (which points at the module, not the version) stays attached."""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, func, select

from app.core.errors import Invalid
from app.courses.markdown import render_markdown
from app.courses.models import Course, CourseStatus, Module, ModuleVersion
from app.quizzes.models import QuizBank, QuizVersion
from app.studio.bibliography import parse_bibtex
from app.studio.parsing import ContentReport, CourseSpec, QuizSpec, load_content


@dataclass
class ImportResult:
    created_courses: list[str] = field(default_factory=list)
    updated_courses: list[str] = field(default_factory=list)
    unchanged_courses: list[str] = field(default_factory=list)
    new_module_versions: int = 0
    new_quiz_versions: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created_courses or self.updated_courses)

    def summary(self) -> str:
        return (
            f"{len(self.created_courses)} course(s) created, {len(self.updated_courses)} updated, "
            f"{len(self.unchanged_courses)} unchanged; {self.new_module_versions} new module "
            f"version(s), {self.new_quiz_versions} new quiz version(s)"
        )


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def course_hash(spec: CourseSpec) -> str:
    parts = [spec.course_yaml_source, spec.bibliography_source]
    parts += [m.source for m in spec.modules]
    parts += [spec.quizzes[k].source for k in sorted(spec.quizzes)]
    parts += [spec.final_exam.source, spec.closing.source if spec.closing else ""]
    return sha256("\x00".join(parts))


def module_url(course_slug: str, module_slug: str) -> str:
    return f"/courses/{course_slug}/modules/{module_slug}"


def _next_version(session: Session, version: Any, owner: Any, owner_id: int) -> int:
    """One more than the highest version number under this module or bank."""
    latest = session.exec(select(func.max(version)).where(owner == owner_id)).one()
    return int(latest or 0) + 1


def _question_dicts(quiz: QuizSpec) -> list[dict[str, Any]]:
    return [
        {
            "id": q.id,
            "type": q.type,
            "prompt": q.prompt,
            "options": [{"text": o.text, "correct": o.correct} for o in q.options],
            "answer": q.answer,
            "tolerance": q.tolerance,
            "explanation": q.explanation,
            "reference": q.reference,
        }
        for q in quiz.questions
    ]


def _import_quiz(
    session: Session, course: Course, key: str, module: Module | None, quiz: QuizSpec, now: datetime
) -> bool:
    assert course.id is not None  # noqa: S101
    bank = session.exec(
        select(QuizBank).where(QuizBank.course_id == course.id, QuizBank.key == key)
    ).first()
    if bank is None:
        bank = QuizBank(
            course_id=course.id,
            key=key,
            module_id=module.id if module else None,
            file_name=quiz.path.rsplit("/", 1)[-1],
        )
        session.add(bank)
        session.flush()
    bank.module_id = module.id if module else None
    bank.file_name = quiz.path.rsplit("/", 1)[-1]
    digest = sha256(quiz.source)
    existing = session.exec(
        select(QuizVersion).where(
            QuizVersion.bank_id == bank.id, QuizVersion.content_hash == digest
        )
    ).first()
    created = False
    if existing is None:
        assert bank.id is not None  # noqa: S101
        existing = QuizVersion(
            bank_id=bank.id,
            version=_next_version(session, QuizVersion.version, QuizVersion.bank_id, bank.id),
            content_hash=digest,
            title=quiz.title,
            pass_mark=quiz.pass_mark,
            draw=quiz.draw,
            max_attempts=quiz.max_attempts,
            cooldown_hours=quiz.cooldown_hours,
            time_limit_minutes=quiz.time_limit_minutes,
            reveal=quiz.reveal,
            questions=_question_dicts(quiz),
            source=quiz.source,
            created_at=now,
        )
        session.add(existing)
        session.flush()
        created = True
    if bank.current_version_id != existing.id:
        bank.current_version_id = existing.id
        created = True
    session.add(bank)
    return created


def _apply_course_fields(course: Course, spec: CourseSpec, closing_html: str) -> None:
    course.title = spec.title
    course.summary = spec.summary
    course.audience = spec.audience
    course.ce_hours = spec.ce_hours
    course.instructional_level = spec.instructional_level
    course.delivery_format = spec.delivery_format
    course.objectives = list(spec.objectives)
    course.authors = [
        {"name": a.name, "credentials": a.credentials, "disclosure": a.disclosure}
        for a in spec.authors
    ]
    course.provider_name = spec.provider_name
    course.accreditation_statement = spec.accreditation_statement
    course.credit_basis = spec.credit_basis
    course.approvals = [approval.to_json() for approval in spec.approvals]
    course.pass_mark_statement = spec.pass_mark_statement
    course.release_date = spec.release_date
    course.last_review_date = spec.last_review_date
    course.expires_on = spec.expires_on
    course.certificate_validity_months = spec.certificate_validity_months
    course.status = CourseStatus(spec.status)
    course.evaluation = [
        {"id": e.id, "type": e.type, "prompt": e.prompt, "required": e.required}
        for e in spec.evaluation
    ]
    course.closing_title = spec.closing.title if spec.closing else ""
    course.closing_html = closing_html
    course.course_yaml_source = spec.course_yaml_source
    course.bibliography_source = spec.bibliography_source
    course.closing_source = spec.closing.source if spec.closing else ""


def import_course(
    session: Session, spec: CourseSpec, *, now: datetime, result: ImportResult
) -> Course:
    """Create or update one course from its parsed files; flushes, never commits."""
    digest = course_hash(spec)
    course = session.exec(select(Course).where(Course.slug == spec.slug)).first()
    if course is not None and course.content_hash == digest:
        result.unchanged_courses.append(spec.slug)
        return course
    bibliography, _ = parse_bibtex(spec.bibliography_source)
    urls = {m.path.rsplit("/", 1)[-1]: module_url(spec.slug, m.slug) for m in spec.modules}
    asset_base = f"/courses/{spec.slug}/assets/"
    closing_html = ""
    if spec.closing:
        closing_html = render_markdown(
            spec.closing.body, bibliography=bibliography, module_urls=urls, asset_base=asset_base
        ).html
    legal: list[dict[str, Any]] = []
    if course is None:
        course = Course(
            slug=spec.slug,
            content_hash=digest,
            version=1,
            created_at=now,
            updated_at=now,
            summary="",
            audience="",
            accreditation_statement="",
            course_yaml_source="",
            title="",
            ce_hours=0,
            instructional_level="",
            delivery_format="",
            provider_name="",
            release_date=spec.release_date,
            last_review_date=spec.last_review_date,
            expires_on=spec.expires_on,
            certificate_validity_months=spec.certificate_validity_months,
            status=CourseStatus(spec.status),
        )
        result.created_courses.append(spec.slug)
    else:
        course.version += 1
        course.content_hash = digest
        course.updated_at = now
        result.updated_courses.append(spec.slug)
    _apply_course_fields(course, spec, closing_html)
    session.add(course)
    session.flush()
    assert course.id is not None  # noqa: S101

    existing = {
        m.slug: m for m in session.exec(select(Module).where(Module.course_id == course.id))
    }
    seen: set[str] = set()
    for spec_module in spec.modules:
        seen.add(spec_module.slug)
        module = existing.get(spec_module.slug) or Module(
            course_id=course.id,
            slug=spec_module.slug,
            position=spec_module.position,
            file_name=spec_module.path.rsplit("/", 1)[-1],
        )
        module.position = spec_module.position
        module.file_name = spec_module.path.rsplit("/", 1)[-1]
        module.prerequisites = list(spec_module.prerequisites)
        module.is_active = True
        session.add(module)
        session.flush()
        rendered = render_markdown(
            spec_module.body, bibliography=bibliography, module_urls=urls, asset_base=asset_base
        )
        for as_of, line in rendered.legal_dates:
            legal.append({"module": spec_module.slug, "as_of": as_of.isoformat(), "line": line})
        digest_m = sha256(spec_module.source)
        version = session.exec(
            select(ModuleVersion).where(
                ModuleVersion.module_id == module.id, ModuleVersion.content_hash == digest_m
            )
        ).first()
        if version is None:
            assert module.id is not None  # noqa: S101
            version = ModuleVersion(
                module_id=module.id,
                version=_next_version(
                    session, ModuleVersion.version, ModuleVersion.module_id, module.id
                ),
                content_hash=digest_m,
                title=spec_module.title,
                estimated_minutes=spec_module.estimated_minutes,
                word_count=spec_module.word_count,
                objectives=list(spec_module.objectives),
                source=spec_module.source,
                html=rendered.html,
                toc=[{"id": t.id, "title": t.title, "level": t.level} for t in rendered.toc],
                created_at=now,
            )
            session.add(version)
            session.flush()
            result.new_module_versions += 1
        module.current_version_id = version.id
        session.add(module)
        if _import_quiz(
            session, course, spec_module.slug, module, spec.quizzes[spec_module.slug], now
        ):
            result.new_quiz_versions += 1
    for slug, module in existing.items():
        if slug not in seen and module.is_active:
            module.is_active = False  # kept, so learners' history stays; hidden from the course
            session.add(module)
    if _import_quiz(session, course, "final", None, spec.final_exam, now):
        result.new_quiz_versions += 1
    course.legal_review = legal
    session.add(course)
    session.flush()
    return course


def import_specs(session: Session, specs: list[CourseSpec], *, now: datetime) -> ImportResult:
    """Imports parsed courses in the caller's transaction."""
    result = ImportResult()
    for spec in specs:
        import_course(session, spec, now=now, result=result)
    return result


def import_content(session: Session, root: Path, *, now: datetime) -> ImportResult:
    """Checks then imports a content tree; raises Invalid (listing the problems) on any error."""
    report: ContentReport = load_content(root, today=now.date())
    if report.errors:
        raise Invalid(
            f"{len(report.errors)} problem(s) in the content; nothing was imported",
            problems=[str(p) for p in report.errors],
        )
    return import_specs(session, report.courses, now=now)
