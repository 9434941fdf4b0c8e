"""The studio's forms for the rest of course.yaml: evaluation questions, module prerequisites,
credit basis and accreditation approvals, and the closing page. Each writes the draft's files,
and the content check's problems come back next to the field that caused them."""

import dataclasses
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.accounts.models import Role
from app.core.errors import Invalid, NotFound
from app.studio import exporter, importer
from app.studio import service as studio
from app.studio.parsing import CourseSpec, load_content
from app.studio.serialize import problem_loc, undotted
from tests.content_helpers import import_tree
from tests.factories import make_user

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DATA = Path(__file__).resolve().parents[1] / "data" / "content"
SLUG = "demo-course"
YAML = f"courses/{SLUG}/course.yaml"

APPROVALS = """credit_basis: "0.15 hours: about 6 minutes of reading and 3 quiz questions."
approvals:
  - id: apa-home-study
    body: APA
    number: "APA-0000"
    statement: >-
      Example CE Provider is approved by the American Psychological Association to sponsor
      continuing education for psychologists.
    credit_type: CE credits
    credit_amount: 0.15
    professions: [psychologist, social-worker]
    states: [FL]
    valid_from: 2026-01-01
    valid_until: 2030-12-31
    min_pass_mark: 0.8
    cebroker:
      provider_tracking_number: "50-0000"
      profession_codes: {social-worker: "SW", psychologist: "PY"}
      hours: 0.15
  - id: fl-board
    body: State board
    body_name: Florida Board of Clinical Social Work
    number: "BAP-1"
    statement: Approved by the Florida board.
    credit_type: contact hours
    credit_amount: 0.1
    professions: [social-worker]
    valid_from: "2026-01-01"
    valid_until: 2028-12-31
closing: closing.md
"""
CLOSING = "# Closing\n\n::: note\nThank you.\n:::\n"


ASSETS = DATA / "courses" / SLUG  # the demo course's images, which the check looks for


@pytest.fixture
def draft(session):
    """The demo course's draft, as an admin sees it."""
    import_tree(session, DATA)
    admin = make_user(session, role=Role.admin)
    return studio.get_draft(session, admin, SLUG, now=NOW)


def _check(draft) -> studio.DraftCheck:
    return studio.check_draft(draft, today=NOW.date(), assets=ASSETS)


def _errors(draft) -> studio.FieldErrors:
    return studio.course_errors(_check(draft), draft)


def _with_approvals(session, draft) -> None:
    text = draft.files[YAML] + APPROVALS
    studio.save_source(session, draft, YAML, text, now=NOW)
    studio.save_closing(
        session, draft, {"title": "Closing and disclaimer", "body": CLOSING}, now=NOW
    )


def _data(draft) -> dict[str, Any]:
    return yaml.safe_load(draft.files[YAML])


# What a browser posts for each form, built from the form values the pages show.


def _posted_approval(form: dict[str, Any]) -> dict[str, str]:
    posted = {k: v for k, v in form.items() if isinstance(v, str)}
    posted |= {f"profession:{p['key']}": "1" for p in form["professions"] if p["is_checked"]}
    return posted


def _posted_evaluation(form: dict[str, Any]) -> dict[str, str]:
    posted = {k: v for k, v in form.items() if isinstance(v, str)}
    return posted | ({"required": "1"} if form["required"] else {})


def _posted_prerequisites(draft) -> dict[str, str]:
    posted: dict[str, str] = {}
    for p in studio.module_prerequisites(draft):
        posted[f"prerequisites:{p.module.slug}"] = p.mode
        for c in p.choices:
            if c.is_checked:
                posted[f"requires:{p.module.slug}:{c.slug}"] = "1"
    return posted


def _comparable(spec: CourseSpec) -> dict[str, Any]:
    """The parsed course without the texts that a form rewrites in its own layout."""
    data = dataclasses.asdict(spec)
    data.pop("course_yaml_source")
    data["closing"].pop("source")
    return data


def test_unchanged_forms_leave_the_parsed_course_identical_and_export_round_trips(
    session, draft, tmp_path
):
    _with_approvals(session, draft)
    before = _check(draft)
    assert before.errors == [] and before.spec is not None, [str(p) for p in before.errors]

    studio.save_course(session, draft, studio.course_form(draft), now=NOW)
    for index, question in enumerate(studio.course_items(draft, "evaluation")):
        posted = _posted_evaluation(studio.evaluation_form(question))
        studio.save_evaluation_question(session, draft, index, posted, now=NOW)
    for index, approval in enumerate(studio.course_items(draft, "approvals")):
        posted = _posted_approval(studio.approval_form(approval))
        studio.save_approval(session, draft, index, posted, now=NOW)
    studio.save_prerequisites(session, draft, _posted_prerequisites(draft), now=NOW)
    studio.save_closing(
        session, draft, studio.closing_form(draft, studio.closing_page(draft)), now=NOW
    )

    after = _check(draft)
    assert after.errors == [] and after.spec is not None
    assert _comparable(after.spec) == _comparable(before.spec)
    text = draft.files[YAML]
    assert "credit_basis:" in text and "- id: apa-home-study" in text  # readable block YAML
    assert _data(draft)["modules"][1] == {"file": "02-next.md", "prerequisites": ["intro"]}

    admin = make_user(session, role=Role.admin)
    studio.publish(session, admin, draft, now=NOW, assets=ASSETS)
    out = tmp_path / "exported"
    exporter.export_content(session, out)
    shutil.copytree(DATA / "courses" / SLUG / "images", out / "courses" / SLUG / "images")
    report = load_content(out, today=NOW.date())
    assert report.errors == [], [str(p) for p in report.errors]
    exported = next(c for c in report.courses if c.slug == SLUG)
    assert _comparable(exported) == _comparable(after.spec)
    assert not importer.import_specs(session, [exported], now=NOW).changed


def test_evaluation_questions_are_added_edited_moved_and_removed(session, draft):
    new = {"id": "pace", "type": "likert", "prompt": "The pace suited me.", "required": "1"}
    assert studio.save_evaluation_question(session, draft, None, new, now=NOW) == 2
    edited = new | {"type": "text", "prompt": "How was\r\nthe pace?"}
    edited.pop("required")
    studio.save_evaluation_question(session, draft, 2, edited, now=NOW)
    studio.move_course_item(session, draft, "evaluation", 2, -1, now=NOW)
    studio.move_course_item(session, draft, "evaluation", 0, -1, now=NOW)  # past the top: no-op
    assert [q["id"] for q in _data(draft)["evaluation"]] == ["objectives-met", "pace", "comments"]
    assert _data(draft)["evaluation"][1] == {
        "id": "pace",
        "type": "text",
        "prompt": "How was\nthe pace?",
        "required": False,
    }
    assert _check(draft).errors == []
    studio.remove_course_item(session, draft, "evaluation", 0, now=NOW)
    assert [q["id"] for q in _data(draft)["evaluation"]] == ["pace", "comments"]
    with pytest.raises(NotFound):
        studio.remove_course_item(session, draft, "evaluation", 5, now=NOW)
    with pytest.raises(NotFound):
        studio.save_evaluation_question(session, draft, 9, new, now=NOW)


def test_evaluation_problems_come_back_next_to_their_fields(session, draft):
    bad = {"id": "comments", "type": "stars", "prompt": " ", "required": "1"}
    index = studio.save_evaluation_question(session, draft, None, bad, now=NOW)
    errors = _errors(draft)
    # Schema errors first (as `lms content check`: the duplicate id waits for a valid file).
    assert set(errors.evaluation.get(index)) == {"type", "prompt"}
    assert (
        "evaluation[2].type: Input should be 'likert' or 'text'"
        in (errors.evaluation.get(index)["type"][0])
    )
    assert "must not be empty" in errors.evaluation.get(index)["prompt"][0]
    assert errors.evaluation.with_errors == {index} and not errors.has_errors
    studio.save_evaluation_question(session, draft, index, bad | {"type": "text"}, now=NOW)
    fixed = bad | {"type": "text", "prompt": "Anything else?"}
    studio.save_evaluation_question(session, draft, index, fixed, now=NOW)
    errors = _errors(draft)
    assert errors.evaluation.get(index)["id"][0].startswith("duplicate evaluation id 'comments'")
    for _ in range(3):
        studio.remove_course_item(session, draft, "evaluation", 0, now=NOW)
    assert "at least 1 item" in _errors(draft).sections["evaluation"][0]


def test_prerequisites_default_none_and_chosen(session, draft):
    studio.add_module(session, draft, "more", "More", now=NOW)
    shown = {p.module.slug: p for p in studio.module_prerequisites(draft)}
    assert shown["next"].mode == "chosen" and shown["next"].summary == "Introduction"
    assert shown["more"].mode == "default" and shown["more"].previous is not None
    assert [c.slug for c in shown["more"].choices] == ["intro", "next"]

    posted = {
        "prerequisites:next": "default",
        "prerequisites:more": "chosen",
        "requires:more:next": "1",
        "requires:more:intro": "1",
        "requires:more:nonsense": "1",  # not offered: ignored
    }
    studio.save_prerequisites(session, draft, posted, now=NOW)
    refs = _data(draft)["modules"]
    assert refs[1] == {"file": "02-next.md"}
    assert refs[2] == {"file": "03-more.md", "prerequisites": ["intro", "next"]}
    studio.save_prerequisites(session, draft, {"prerequisites:more": "none"}, now=NOW)
    assert _data(draft)["modules"][2]["prerequisites"] == []
    assert _data(draft)["modules"][1] == {"file": "02-next.md"}  # not in the form: unchanged


def test_prerequisite_problems_are_shown_with_their_module(session, draft):
    studio.move_module(session, draft, "next", -1, now=NOW)  # next (requires intro) goes first
    errors = _errors(draft)
    assert errors.prerequisites.with_errors == {"next"}
    assert errors.prerequisites.get("next")["item"] == [
        "prerequisite 'intro' comes after this module in the course"
    ]
    shown = {p.module.slug: p for p in studio.module_prerequisites(draft)}
    later = shown["next"].choices
    assert [(c.slug, c.is_checked, c.problem) for c in later] == [
        ("intro", True, "comes later in the course")
    ]
    studio.save_prerequisites(session, draft, {"prerequisites:next": "chosen"}, now=NOW)
    assert _data(draft)["modules"][0]["prerequisites"] == []
    assert _errors(draft).prerequisites.with_errors == set()

    text = draft.files[YAML].replace("prerequisites: []", "prerequisites: [gone]")
    studio.save_source(session, draft, YAML, text, now=NOW)
    assert _errors(draft).prerequisites.get("next")["item"] == [
        "prerequisite 'gone' is not a module"
    ]


APA_FORM = {
    "id": "apa-2027",
    "body": "APA",
    "number": "APA-1",
    "statement": "Approved by the APA.",
    "credit_type": "CE credits",
    "credit_amount": "0.15",
    "profession:psychologist": "1",
    "valid_from": "2026-01-01",
    "valid_until": "2030-12-31",
}


def test_an_approval_is_written_in_the_documented_shape(session, draft):
    studio.save_course(
        session, draft, studio.course_form(draft) | {"credit_basis": "Seat time."}, now=NOW
    )
    posted = APA_FORM | {
        "states": "FL, GA",
        "min_pass_mark": "0.8",
        "cebroker_provider_tracking_number": "50-1",
        "cebroker_profession_codes": "psychologist = PY\r\n",
    }
    assert studio.save_approval(session, draft, None, posted, now=NOW) == 0
    data = _data(draft)
    assert list(data)[list(data).index("delivery_format") + 1] == "credit_basis"
    assert data["approvals"] == [
        {
            "id": "apa-2027",
            "body": "APA",
            "number": "APA-1",
            "statement": "Approved by the APA.",
            "credit_type": "CE credits",
            "credit_amount": 0.15,
            "professions": ["psychologist"],
            "states": ["FL", "GA"],
            "valid_from": date(2026, 1, 1),
            "valid_until": date(2030, 12, 31),
            "min_pass_mark": 0.8,
            "cebroker": {
                "provider_tracking_number": "50-1",
                "profession_codes": {"psychologist": "PY"},
            },
        }
    ]
    check = _check(draft)
    assert check.errors == [] and check.spec is not None
    assert check.spec.approvals[0].cebroker is not None
    # Emptying the CE Broker fields drops the block; removing the last approval drops the key.
    studio.save_approval(session, draft, 0, APA_FORM, now=NOW)
    assert "cebroker" not in _data(draft)["approvals"][0]
    studio.remove_course_item(session, draft, "approvals", 0, now=NOW)
    assert "approvals" not in _data(draft)


def test_approval_problems_and_accreditation_rules_come_back_next_to_their_fields(session, draft):
    posted = APA_FORM | {"min_pass_mark": "0.9"}  # the final exam passes at 0.8
    studio.save_approval(session, draft, None, posted, now=NOW)
    errors = _errors(draft)
    approval = errors.approvals.get(0)
    assert approval["min_pass_mark"] == [
        "accreditation rule: the final exam's pass mark 80% is under the 90% minimum of "
        "approval 'apa-2027' (APA)"
    ]
    assert "needs the course's credit_basis" in approval["item"][0]
    assert "needs the course's credit_basis" in errors.fields["credit_basis"][0]
    assert errors.has_errors  # the details form's credit_basis field

    state_board = APA_FORM | {
        "id": "fl",
        "body": "State board",
        "credit_amount": "5",
        "profession:psychologist": "",
        "profession:counselor": "1",
        "cebroker_profession_codes": "psychologist=PY",
    }
    studio.save_course(
        session, draft, studio.course_form(draft) | {"credit_basis": "Seat time."}, now=NOW
    )
    studio.save_approval(session, draft, 0, state_board, now=NOW)
    found = _errors(draft).approvals.get(0)
    assert set(found) == {"cebroker_provider_tracking_number"}
    assert found["cebroker_provider_tracking_number"] == [
        "approvals[0].cebroker.provider_tracking_number: must not be empty"
    ]
    studio.save_approval(
        session, draft, 0, state_board | {"cebroker_provider_tracking_number": "50-1"}, now=NOW
    )
    found = _errors(draft).approvals.get(0)
    assert found["body_name"] == ["approval 'fl': name the state board in body_name"]
    assert found["cebroker_profession_codes"] == [
        "approval 'fl': CE Broker code for 'psychologist', which the approval does not cover"
    ]
    assert "awards 5 credits, more than the course's 0.15 ce_hours" in found["credit_amount"][0]

    bad = {"id": "Bad Id", "body": "APA", "credit_amount": "lots", "valid_until": "soon"}
    studio.save_approval(session, draft, None, bad, now=NOW)
    found = _errors(draft).approvals.get(1)
    assert set(found) >= {"id", "number", "statement", "credit_type", "credit_amount"}
    assert set(found) >= {"professions", "valid_from", "valid_until"}
    assert found["valid_until"] == ["approvals[1].valid_until: expected a date as YYYY-MM-DD"]


def test_closing_page_is_created_edited_and_removed(session, draft):
    page = studio.closing_page(draft)
    assert not page.is_listed and page.file == "closing.md"
    form = studio.closing_form(draft, page)
    studio.save_closing(session, draft, form | {"title": "Goodbye"}, now=NOW)
    data = _data(draft)
    assert data["closing"] == "closing.md"
    assert list(data)[list(data).index("final_exam") + 1] == "closing"
    check = _check(draft)
    assert check.errors == [] and check.spec is not None and check.spec.closing is not None
    assert check.spec.closing.title == "Goodbye" and check.spec.closing.slug == "closing"

    page = studio.closing_page(draft)
    bad = {"title": "", "body": "# End\n\nSee [@Nobody].\n"}
    studio.save_closing(session, draft, bad, now=NOW)
    errors = studio.closing_errors(_check(draft), draft, page)
    assert errors.has_errors and errors.fields == {"title": ["title: must not be empty"]}
    studio.save_closing(session, draft, bad | {"title": "End"}, now=NOW)
    errors = studio.closing_errors(_check(draft), draft, page)
    assert set(errors.fields) == {"body"} and errors.fields["body"][0].startswith("line 3:")

    studio.remove_closing(session, draft, now=NOW)
    assert "closing" not in _data(draft) and page.path not in draft.files
    with pytest.raises(NotFound):
        studio.remove_closing(session, draft, now=NOW)
    studio.save_source(session, draft, YAML, draft.files[YAML] + "closing: ../x.md\n", now=NOW)
    with pytest.raises(Invalid):
        studio.closing_page(draft)


def test_missing_keys_belong_to_the_key_their_message_names():
    text = "approvals:\n- id: a\n  cebroker:\n    hours: 1\n"
    message = "missing required key 'provider_tracking_number' in approvals[0].cebroker"
    assert problem_loc(text, 3, message) == ("approvals", 0, "cebroker", "provider_tracking_number")
    assert problem_loc(text, 1, "missing required key 'title'") == ("title",)
    assert undotted("questions[1]") == ("questions", 1)
