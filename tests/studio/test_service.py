import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.accounts.models import Role
from app.core.errors import Conflict, Invalid, NotFound
from app.studio import exporter, importer
from app.studio import service as studio
from app.studio.parsing import load_content
from app.studio.serialize import diff_rows, locate, problem_loc, split_module
from tests.content_helpers import import_tree
from tests.factories import make_user

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DATA = Path(__file__).resolve().parents[1] / "data" / "content"


def test_new_course_skeleton_passes_the_content_check(session):
    user = make_user(session, role=Role.instructor)
    draft = studio.create_course(session, user, "wound-care", "Wound care", now=NOW)
    check = studio.check_draft(draft, today=NOW.date())
    assert check.errors == []
    assert check.spec is not None and [m.slug for m in check.spec.modules] == ["introduction"]


def test_create_course_refuses_bad_and_taken_slugs(session):
    user = make_user(session, role=Role.instructor)
    with pytest.raises(Invalid) as bad:
        studio.create_course(session, user, "Wound Care", "Wound care", now=NOW)
    assert bad.value.extra["field"] == "slug"
    studio.create_course(session, user, "wound-care", "Wound care", now=NOW)
    with pytest.raises(Conflict):
        studio.create_course(session, user, "wound-care", "Again", now=NOW)


def test_problems_map_to_their_form_fields(session):
    user = make_user(session, role=Role.instructor)
    draft = studio.create_course(session, user, "wound-care", "Wound care", now=NOW)
    good = studio.course_form(draft)
    studio.save_course(session, draft, good | {"ce_hours": "three", "authors": "Ada"}, now=NOW)
    errors = studio.course_errors(studio.check_draft(draft, today=NOW.date()), draft)
    assert set(errors.fields) == {"ce_hours", "authors"}
    assert "missing required key 'disclosure'" in errors.fields["authors"][0]
    # Quiz banks are checked once course.yaml loads, as with `lms content check`.
    studio.save_course(session, draft, good, now=NOW)

    path = studio.quiz_path(draft, "introduction")
    studio.save_question(
        session,
        draft,
        path,
        0,
        {
            "id": "introduction-1",
            "type": "single",
            "prompt": "Pick one",
            "option_0_text": "A",
            "option_1_text": "B",
            "explanation": "",
            "reference": "#nope",
        },
        now=NOW,
    )
    quiz = studio.quiz_errors(studio.check_draft(draft, today=NOW.date()), draft, path)
    assert set(quiz.questions[0]) == {"options", "explanation", "reference"}


def test_module_body_problems_carry_body_lines(session):
    user = make_user(session, role=Role.instructor)
    draft = studio.create_course(session, user, "wound-care", "Wound care", now=NOW)
    module = studio.get_module(draft, "introduction")
    form = studio.module_form(draft, module) | {
        "body": "# Intro\n\n## Overview\n\nSee [@Nobody].\n"
    }
    studio.save_module(session, draft, module, form, now=NOW)
    errors = studio.module_errors(studio.check_draft(draft, today=NOW.date()), draft, module)
    assert errors.fields["body"][0].startswith("line 5:")


def test_publish_imports_records_and_export_round_trips(session, tmp_path):
    user = make_user(session, role=Role.instructor)
    draft = studio.create_course(session, user, "wound-care", "Wound care", now=NOW)
    studio.add_module(session, draft, "dressings", "Dressings", now=NOW)
    outcome = studio.publish(session, user, draft, now=NOW)
    assert outcome.record is not None and outcome.result.created_courses == ["wound-care"]
    assert outcome.result.new_module_versions == 2
    course = studio.find_course(session, "wound-care")
    assert course is not None and course.owner_id == user.id
    assert {c["path"] for c in outcome.record.changes} >= {"courses/wound-care/02-dressings.md"}

    written = exporter.export_content(session, tmp_path)
    assert written
    report = load_content(tmp_path, today=NOW.date())
    assert report.errors == []
    again = importer.import_specs(session, report.courses, now=NOW)
    assert not again.changed and again.unchanged_courses == ["wound-care"]
    # The draft is gone; a fresh one is the published files, as export writes them.
    fresh = studio.get_draft(session, user, "wound-care", now=NOW)
    assert fresh.id is None
    assert fresh.files == {
        str(p.relative_to(tmp_path)): p.read_text() for p in written if "wound-care" in str(p)
    }


def test_publish_with_errors_publishes_nothing(session):
    user = make_user(session, role=Role.instructor)
    draft = studio.create_course(session, user, "wound-care", "Wound care", now=NOW)
    studio.save_course(session, draft, studio.course_form(draft) | {"ce_hours": "x"}, now=NOW)
    with pytest.raises(Invalid) as exc:
        studio.publish(session, user, draft, now=NOW)
    assert any("ce_hours" in p for p in exc.value.extra["problems"])
    assert studio.find_course(session, "wound-care") is None


def test_reorder_and_remove_modules(session):
    user = make_user(session, role=Role.instructor)
    draft = studio.create_course(session, user, "wound-care", "Wound care", now=NOW)
    studio.add_module(session, draft, "dressings", "Dressings", now=NOW)
    studio.move_module(session, draft, "dressings", -1, now=NOW)
    assert [m.slug for m in studio.modules(draft)] == ["dressings", "introduction"]
    studio.remove_module(session, draft, "introduction", now=NOW)
    assert [m.slug for m in studio.modules(draft)] == ["dressings"]
    assert "quizzes/wound-care/introduction.yaml" not in draft.files
    with pytest.raises(Invalid):
        studio.remove_module(session, draft, "dressings", now=NOW)


def test_file_imported_course_is_admin_only_and_keeps_its_images(session, tmp_path):
    import_tree(session, DATA)
    instructor = make_user(session, role=Role.instructor)
    admin = make_user(session, role=Role.admin)
    with pytest.raises(NotFound):
        studio.get_draft(session, instructor, "demo-course", now=NOW)
    draft = studio.get_draft(session, admin, "demo-course", now=NOW)
    shutil.copytree(DATA, tmp_path / "content")
    assets = tmp_path / "content" / "courses" / "demo-course"
    check = studio.check_draft(draft, today=NOW.date(), assets=assets)
    assert check.errors == []
    assert [c.slug for c in studio.list_courses(session, instructor)] == []
    assert "demo-course" in [c.slug for c in studio.list_courses(session, admin)]


def test_module_history_diff(session):
    user = make_user(session, role=Role.instructor)
    draft = studio.create_course(session, user, "wound-care", "Wound care", now=NOW)
    studio.publish(session, user, draft, now=NOW)
    draft = studio.get_draft(session, user, "wound-care", now=NOW)
    module = studio.get_module(draft, "introduction")
    form = studio.module_form(draft, module)
    form["body"] = form["body"].replace("Write the module here.", "Clean the wound first.")
    studio.save_module(session, draft, module, form, now=NOW)
    studio.publish(session, user, draft, now=NOW)
    _, _, versions = studio.module_history(session, user, "wound-care", "introduction")
    assert [v.version for v in versions] == [2, 1]
    assert versions[0].published_by.startswith(user.full_name)
    rows = studio.version_diff(versions, 1, 2)
    assert ("removed", "Write the module here.") in [(r.kind, r.text) for r in rows]
    assert ("added", "Clean the wound first.") in [(r.kind, r.text) for r in rows]


def test_locate_and_split_helpers():
    text = "title: x\nquestions:\n- id: a\n  type: single\n- id: b\n  prompt: p\n"
    assert locate(text, 4) == ("questions", 0, "type")
    assert locate(text, 6) == ("questions", 1, "prompt")
    assert problem_loc(text, 5, "missing required key 'explanation' in questions[1]") == (
        "questions",
        1,
        "explanation",
    )
    parts = split_module("---\nslug: a\ntitle: A\n---\n\nBody\n")
    assert parts.front == {"slug": "a", "title": "A"} and parts.body_offset == 4
    assert [r.kind for r in diff_rows("a\nb\n", "a\nc\n")] == ["same", "removed", "added"]
