"""Database -> content files, in the same format `lms content import` reads."""

from pathlib import Path

from sqlmodel import Session, col, select

from app.courses.models import Course, Module, ModuleVersion
from app.quizzes.models import QuizBank, QuizVersion


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def export_content(session: Session, root: Path) -> list[Path]:
    """Writes every course's current files under root/courses and root/quizzes."""
    written: list[Path] = []
    for course in session.exec(select(Course).order_by(col(Course.slug))):
        base = root / "courses" / course.slug
        quiz_base = root / "quizzes" / course.slug
        files = {base / "course.yaml": course.course_yaml_source}
        if course.bibliography_source:
            files[base / "references.bib"] = course.bibliography_source
        if course.closing_source:
            files[base / "closing.md"] = course.closing_source
        modules = session.exec(
            select(Module, ModuleVersion)
            .join(ModuleVersion, col(ModuleVersion.id) == Module.current_version_id)
            .where(Module.course_id == course.id, col(Module.is_active))
        )
        for module, version in modules:
            files[base / module.file_name] = version.source
        banks = session.exec(
            select(QuizBank, QuizVersion)
            .join(QuizVersion, col(QuizVersion.id) == QuizBank.current_version_id)
            .where(QuizBank.course_id == course.id)
        )
        for bank, quiz in banks:
            files[quiz_base / bank.file_name] = quiz.source
        for path, text in files.items():
            _write(path, text)
            written.append(path)
    return written
