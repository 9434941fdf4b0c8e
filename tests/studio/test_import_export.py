"""Import is one transaction, versions are keyed by content, export round-trips."""

import shutil
from pathlib import Path

import pytest
from sqlmodel import select

from app.core.clock import utcnow
from app.core.errors import Invalid
from app.courses import service as courses
from app.courses.models import Course, ModuleVersion
from app.quizzes.models import QuizVersion
from app.studio import exporter, importer
from app.studio.parsing import load_content
from tests.content_helpers import complete_course
from tests.factories import make_user

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(DEMO, root)
    return root


def _counts(session):
    return (
        len(session.exec(select(Course)).all()),
        len(session.exec(select(ModuleVersion)).all()),
        len(session.exec(select(QuizVersion)).all()),
    )


def test_unchanged_content_creates_nothing(session, tmp_path):
    root = _copy(tmp_path)
    first = importer.import_content(session, root, now=utcnow())
    assert first.created_courses == ["demo-course"]
    before = _counts(session)
    again = importer.import_content(session, root, now=utcnow())
    assert again.unchanged_courses == ["demo-course"] and not again.changed
    assert _counts(session) == before


def test_changed_module_is_a_new_version_and_progress_stays(session, tmp_path):
    root = _copy(tmp_path)
    importer.import_content(session, root, now=utcnow())
    course = session.exec(select(Course).where(Course.slug == "demo-course")).one()
    learner = make_user(session)
    complete_course(session, learner, course, root)
    module_file = root / "courses" / "demo-course" / "01-intro.md"
    module_file.write_text(module_file.read_text() + "\nOne more sentence for version two.\n")
    result = importer.import_content(session, root, now=utcnow())
    assert result.updated_courses == ["demo-course"] and result.new_module_versions == 1
    session.refresh(course)
    assert course.version == 2
    modules = courses.active_modules(session, course)
    assert modules[0][1].version == 2
    progress = courses.progress(session, learner, course)
    assert {m.state for m in progress.modules} == {"passed"}  # history stays with the module


def test_bad_content_imports_nothing(session, tmp_path):
    root = _copy(tmp_path)
    before = _counts(session)
    quiz = root / "quizzes" / "demo-course" / "intro.yaml"
    quiz.write_text(quiz.read_text().replace("correct: true", "correct: false", 1))
    with pytest.raises(Invalid) as exc:
        importer.import_content(session, root, now=utcnow())
    assert any("intro.yaml:" in p for p in exc.value.extra["problems"])
    assert _counts(session) == before


def test_export_then_import_is_a_no_op(session, tmp_path):
    root = _copy(tmp_path)
    importer.import_content(session, root, now=utcnow())
    out = tmp_path / "exported"
    written = exporter.export_content(session, out)
    assert written
    for path in (DEMO / "courses" / "demo-course").glob("*.*"):
        assert (out / "courses" / "demo-course" / path.name).read_text() == path.read_text()
    report = load_content(out, today=utcnow().date())
    assert [c.slug for c in report.courses if c.slug == "demo-course"] == ["demo-course"]
    shutil.copytree(
        DEMO / "courses" / "demo-course" / "images", out / "courses" / "demo-course" / "images"
    )
    result = importer.import_content(session, out, now=utcnow())
    assert "demo-course" in result.unchanged_courses and not result.changed
