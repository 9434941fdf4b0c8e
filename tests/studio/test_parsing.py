"""Content tree loading and checking: the tiny tree is clean; each kind of mistake is reported
with its file and line."""

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from app.studio.bibliography import BibEntry, format_ama, parse_bibtex
from app.studio.parsing import ContentReport, Problem, load_content

DATA = Path(__file__).resolve().parents[1] / "data" / "content"
TODAY = date(2026, 11, 23)
COURSE = "courses/demo-course"
YAML = f"{COURSE}/course.yaml"
INTRO = f"{COURSE}/01-intro.md"
NEXT = f"{COURSE}/02-next.md"
BIB = f"{COURSE}/references.bib"
QUIZ_INTRO = "quizzes/demo-course/intro.yaml"
QUIZ_NEXT = "quizzes/demo-course/next.yaml"
FINAL = "quizzes/demo-course/final.yaml"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(DATA, root)
    return root


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(root: Path, rel: str, needle: str) -> int:
    for number, line in enumerate((root / rel).read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {rel}")


def load(root: Path, today: date = TODAY) -> ContentReport:
    return load_content(root, today=today)


def find(report: ContentReport, path: str, fragment: str) -> Problem:
    matches = [p for p in report.problems if p.path == path and fragment in p.message]
    assert matches, f"no problem in {path} containing {fragment!r}; got:\n" + "\n".join(
        str(p) for p in report.problems
    )
    return matches[0]


# --- the clean tree ------------------------------------------------------------------------------


def test_tiny_tree_loads_with_no_problems() -> None:
    report = load(DATA)
    assert report.problems == []
    assert report.errors == []
    [course] = report.courses
    assert course.slug == "demo-course"
    assert course.path == COURSE
    assert course.ce_hours == 0.15
    assert course.release_date == date(2026, 1, 15)
    assert course.authors[0].disclosure == "None"
    assert course.provider_name == "Example CE Provider"
    assert [m.slug for m in course.modules] == ["intro", "next"]
    assert [m.position for m in course.modules] == [1, 2]
    assert course.modules[0].prerequisites == []
    assert course.modules[1].prerequisites == ["intro"]
    assert course.modules[0].estimated_minutes == 1
    assert course.modules[0].body.startswith("\n# Introduction")
    assert course.modules[0].source == (DATA / INTRO).read_text(encoding="utf-8")
    assert set(course.quizzes) == {"intro", "next"}
    assert course.quizzes["next"].draw == 2
    assert course.quizzes["next"].time_limit_minutes == 10
    numeric = course.quizzes["next"].questions[1]
    assert (numeric.type, numeric.answer, numeric.tolerance) == ("numeric", 24.0, 0.0)
    assert course.quizzes["intro"].questions[1].answer is True
    assert course.quizzes["intro"].questions[0].line == line_of(DATA, QUIZ_INTRO, "intro-mech")
    assert course.final_exam.path == FINAL
    assert course.final_exam.questions[1].answer is False
    assert [(e.id, e.type, e.required) for e in course.evaluation] == [
        ("objectives-met", "likert", True),
        ("comments", "text", False),
    ]
    assert course.closing is None
    assert course.bibliography_source.startswith("@article{Zanos2018,")
    assert course.course_yaml_source.startswith("slug: demo-course")


def test_stats_report_words_minutes_and_seat_time() -> None:
    stats = load(DATA).stats
    assert any(line.startswith(f"{INTRO}: ") and "words, ~1 min" in line for line in stats)
    assert any(line.startswith(f"{NEXT}: ") for line in stats)
    assert any(
        line.startswith(f"{COURSE}: seat time ~8 min") and "6 quiz questions" in line
        for line in stats
    )


def test_problem_str_is_path_line_message() -> None:
    assert str(Problem("a/b.md", 3, "broken")) == "a/b.md:3: broken"
    assert str(Problem("a/b.md", 3, "old", "warning")) == "a/b.md:3: warning: old"


def test_closing_page_is_loaded_when_listed(tree: Path) -> None:
    (tree / COURSE / "closing.md").write_text(
        "---\nslug: closing\ntitle: Closing\n---\n\n# Closing\n\nSee [intro](01-intro.md).\n",
        encoding="utf-8",
    )
    edit(tree, YAML, "final_exam: final.yaml", "final_exam: final.yaml\nclosing: closing.md")
    report = load(tree)
    assert report.problems == []
    closing = report.courses[0].closing
    assert closing is not None
    assert (closing.slug, closing.title, closing.path) == (
        "closing",
        "Closing",
        f"{COURSE}/closing.md",
    )


def test_closing_page_takes_only_slug_and_title(tree: Path) -> None:
    (tree / COURSE / "closing.md").write_text(
        "---\nslug: closing\ntitle: Closing\nobjectives: [x]\n---\n\n# Closing\n", encoding="utf-8"
    )
    edit(tree, YAML, "final_exam: final.yaml", "final_exam: final.yaml\nclosing: closing.md")
    problem = find(load(tree), f"{COURSE}/closing.md", "unknown key 'objectives'")
    assert problem.line == 4


def test_missing_courses_folder_is_a_problem(tmp_path: Path) -> None:
    report = load(tmp_path)
    assert [str(p) for p in report.problems] == [
        "courses:1: no courses/ folder under the content root"
    ]


# --- one test per kind of bad input --------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    edits: tuple[tuple[str, str, str], ...]  # (file, old text, new text)
    path: str
    needle: str | int  # the expected line: a text on it (after the edits), or its number
    message: str
    severity: str = "error"


CASES: dict[str, Case] = {
    "bad_yaml": Case(
        ((YAML, "title: Demo course for tests", "title: [unclosed"),),
        YAML,
        "summary:",
        "invalid YAML",
    ),
    "unknown_course_key": Case(
        ((YAML, "slug: demo-course\n", "slug: demo-course\ncolour: blue\n"),),
        YAML,
        "colour:",
        "unknown key 'colour'",
    ),
    "duplicate_yaml_key": Case(
        ((YAML, "status: published\n", "status: published\nstatus: draft\n"),),
        YAML,
        "status: draft",
        "duplicate key 'status'",
    ),
    "missing_course_key": Case(
        ((YAML, "audience: Licensed psychotherapists and nurses\n", ""),),
        YAML,
        1,
        "missing required key 'audience'",
    ),
    "wrong_type": Case(
        ((YAML, "ce_hours: 0.15", "ce_hours: lots"),),
        YAML,
        "ce_hours:",
        "ce_hours: Input should be a valid number",
    ),
    "wrong_value": Case(
        ((YAML, "instructional_level: introductory", "instructional_level: expert"),),
        YAML,
        "instructional_level:",
        "instructional_level: Input should be 'introductory', 'intermediate' or 'advanced'",
    ),
    "quoted_number": Case(
        ((YAML, "certificate_validity_months: 36", 'certificate_validity_months: "36"'),),
        YAML,
        "certificate_validity_months:",
        "certificate_validity_months: Input should be a valid integer",
    ),
    "bad_date": Case(
        ((YAML, "expires_on: 2029-01-15", "expires_on: next year"),),
        YAML,
        "expires_on:",
        "expires_on: expected a date as YYYY-MM-DD",
    ),
    "author_without_disclosure": Case(
        ((YAML, "    disclosure: None\n", ""),),
        YAML,
        "- name: Ada Example",
        "missing required key 'disclosure' in authors[0]",
    ),
    "slug_not_folder": Case(
        ((YAML, "slug: demo-course", "slug: other-course"),),
        YAML,
        "slug:",
        "must match the folder name 'demo-course'",
    ),
    "review_before_release": Case(
        ((YAML, "last_review_date: 2026-06-01", "last_review_date: 2025-06-01"),),
        YAML,
        "last_review_date:",
        "last_review_date is before release_date",
    ),
    "expired_course": Case(
        ((YAML, "expires_on: 2029-01-15", "expires_on: 2026-02-01"),),
        YAML,
        "expires_on:",
        "course expired on 2026-02-01",
        "warning",
    ),
    "module_file_missing": Case(
        ((YAML, "  - file: 02-next.md", "  - file: 02-gone.md"),),
        YAML,
        "02-gone.md",
        "module file '02-gone.md' is listed but missing",
    ),
    "module_file_badly_named": Case(
        ((YAML, "  - file: 02-next.md", "  - file: next.md"),),
        YAML,
        "next.md",
        "must be named NN-<module-slug>.md",
    ),
    "module_slug_not_file_name": Case(
        ((NEXT, "slug: next", "slug: later"),),
        NEXT,
        2,
        "slug 'later' does not match the file name '02-next.md'",
    ),
    "missing_front_matter": Case(
        ((NEXT, "---\nslug: next\n", "slug: next\n"),),
        NEXT,
        1,
        "missing YAML front matter",
    ),
    "unknown_front_matter_key": Case(
        ((NEXT, "title: Next steps\n", "title: Next steps\nauthor: me\n"),),
        NEXT,
        "author: me",
        "unknown key 'author'",
    ),
    "front_matter_bad_yaml": Case(
        ((NEXT, "title: Next steps\n", "title: [Next steps\n"),),
        NEXT,
        "objectives:",
        "invalid YAML",
    ),
    "unknown_prerequisite": Case(
        ((YAML, "prerequisites: [intro]", "prerequisites: [nope]"),),
        YAML,
        "prerequisites: [nope]",
        "prerequisite 'nope' is not a module",
    ),
    "later_prerequisite": Case(
        ((YAML, "  - file: 01-intro.md\n", "  - file: 01-intro.md\n    prerequisites: [next]\n"),),
        YAML,
        "prerequisites: [next]",
        "prerequisite 'next' comes after this module",
    ),
    "link_to_missing_file": Case(
        ((INTRO, "(02-next.md#scheduling)", "(03-gone.md#scheduling)"),),
        INTRO,
        "03-gone.md",
        "link to '03-gone.md#scheduling': no module '03-gone.md' in this course",
    ),
    "link_to_missing_anchor": Case(
        ((INTRO, "(02-next.md#scheduling)", "(02-next.md#nowhere)"),),
        INTRO,
        "02-next.md#nowhere",
        "no heading '#nowhere' in 02-next.md",
    ),
    "link_to_missing_local_anchor": Case(
        (
            (
                NEXT,
                "Back to [the introduction]",
                "See [above](#nowhere). Back to [the introduction]",
            ),
        ),
        NEXT,
        "#nowhere",
        "link to '#nowhere': no such heading in this page",
    ),
    "link_to_missing_asset": Case(
        (
            (
                NEXT,
                "Back to [the introduction]",
                "Get [the handout](files/h.pdf). Back to [the introduction]",
            ),
        ),
        NEXT,
        "files/h.pdf",
        "link to 'files/h.pdf': file not found",
    ),
    "image_missing_on_disk": Case(
        ((INTRO, "images/receptor.png", "images/missing.png"),),
        INTRO,
        "images/missing.png",
        "image 'images/missing.png' not found",
    ),
    "image_without_alt": Case(
        ((INTRO, "![A labelled diagram of a receptor]", "![]"),),
        INTRO,
        "![](images/receptor.png)",
        "image 'images/receptor.png' has no alt text",
    ),
    "image_outside_course": Case(
        ((INTRO, "images/receptor.png", "../../secret.png"),),
        INTRO,
        "secret.png",
        "must be a relative path inside the course folder",
    ),
    "disallowed_link": Case(
        ((INTRO, "(02-next.md#scheduling)", "(javascript:alert(1))"),),
        INTRO,
        "javascript:",
        "link or image not rendered",
    ),
    "unknown_citation_key": Case(
        ((INTRO, "[@Zanos2018]", "[@Nobody2000]"),),
        INTRO,
        "[@Nobody2000]",
        "unknown citation key '@Nobody2000'",
    ),
    "uncited_bib_entry": Case(
        (
            (
                BIB,
                "@misc{Spravato-PI,",
                "@book{Unused2020,\n  title = {Unused},\n  doi = {10.1/x}\n}\n\n@misc{Spravato-PI,",
            ),
        ),
        BIB,
        "@book{Unused2020",
        "entry 'Unused2020' is never cited in this course",
    ),
    "bib_entry_without_identifier": Case(
        ((BIB, "  url = {https://www.accessdata", "  note = {https://www.accessdata"),),
        BIB,
        "@misc{Spravato-PI",
        "entry 'Spravato-PI' has no doi, pmid or url",
    ),
    "bib_duplicate_key": Case(
        (
            (
                BIB,
                "@misc{Spravato-PI,",
                "@misc{Zanos2018,\n  title = {x}, url = {https://x.example}\n}\n@misc{Spravato-PI,",
            ),
        ),
        BIB,
        "@misc{Zanos2018",
        "duplicate entry key 'Zanos2018'",
    ),
    "legal_without_as_of": Case(
        ((NEXT, "::: legal as-of=2026-09-01", "::: legal"),),
        NEXT,
        "::: legal",
        "legal callout needs as-of=YYYY-MM-DD",
    ),
    "legal_stale": Case(
        ((NEXT, "::: legal as-of=2026-09-01", "::: legal as-of=2025-11-22"),),
        NEXT,
        "::: legal",
        "legal callout was last checked 2025-11-22, more than 12 months ago",
        "warning",
    ),
    "unknown_callout": Case(
        ((NEXT, "::: pearl", "::: tip"),),
        NEXT,
        "::: tip",
        "unknown callout '::: tip'",
    ),
    "duplicate_heading": Case(
        ((NEXT, "Back to [the introduction]", "## Scheduling\n\nBack to [the introduction]"),),
        NEXT,
        -1,  # the second "## Scheduling"
        "duplicate heading anchor '#scheduling'",
    ),
    "estimated_minutes_off": Case(
        ((INTRO, "estimated_minutes: 1", "estimated_minutes: 30"),),
        INTRO,
        "estimated_minutes:",
        "estimated_minutes is 30, but 47 words read in about 1 min",
        "warning",
    ),
    "ce_hours_off": Case(
        ((YAML, "ce_hours: 0.15", "ce_hours: 3"),),
        YAML,
        "ce_hours:",
        "ce_hours is 3, but the estimated seat time is 0.1 h",
        "warning",
    ),
    "duplicate_evaluation_id": Case(
        ((YAML, "  - id: comments", "  - id: objectives-met"),),
        YAML,
        "  - id: objectives-met\n    type: text",
        "duplicate evaluation id 'objectives-met'",
    ),
    "bad_evaluation_type": Case(
        ((YAML, "    type: text", "    type: essay"),),
        YAML,
        "type: essay",
        "evaluation[1].type: Input should be 'likert' or 'text'",
    ),
    "missing_quiz_file": Case(
        ((YAML, "  - file: 02-next.md", "  - file: 02-next.md"),),  # see the rename below
        YAML,
        "  - file: 02-next.md",
        "module 'next' has no quiz bank: expected quizzes/demo-course/next.yaml",
    ),
    "missing_final_exam": Case(
        ((YAML, "final_exam: final.yaml", "final_exam: exam.yaml"),),
        YAML,
        "final_exam:",
        "final exam quizzes/demo-course/exam.yaml is missing",
    ),
    "duplicate_question_id": Case(
        ((FINAL, "id: final-dose", "id: intro-terms"),),
        FINAL,
        "id: intro-terms",
        "question id 'intro-terms' is already used at quizzes/demo-course/intro.yaml:",
    ),
    "single_with_two_correct": Case(
        (
            (
                QUIZ_INTRO,
                "      - text: mu-opioid receptor\n",
                "      - text: mu-opioid receptor\n        correct: true\n",
            ),
        ),
        QUIZ_INTRO,
        "options:",
        "a single question needs exactly one correct option, not 2",
    ),
    "multiple_with_none_correct": Case(
        (
            (
                QUIZ_NEXT,
                "      - text: Integration sessions\n        correct: true\n",
                "      - text: Integration sessions\n",
            ),
            (
                QUIZ_NEXT,
                "      - text: Reviewing the client's notes with them\n        correct: true\n",
                "      - text: Reviewing the client's notes with them\n",
            ),
        ),
        QUIZ_NEXT,
        "options:",
        "a multiple question needs at least one correct option",
    ),
    "one_option": Case(
        ((QUIZ_INTRO, "      - text: mu-opioid receptor\n", ""),),
        QUIZ_INTRO,
        "options:",
        "a single question needs at least 2 options",
    ),
    "all_of_the_above": Case(
        ((QUIZ_INTRO, "text: mu-opioid receptor", "text: All of the above"),),
        QUIZ_INTRO,
        "All of the above",
        "avoid '... of the above' options",
        "warning",
    ),
    "true_false_without_boolean": Case(
        ((QUIZ_INTRO, "answer: true", 'answer: "yes"'),),
        QUIZ_INTRO,
        'answer: "yes"',
        "a true_false question needs 'answer: true' or 'answer: false'",
    ),
    "true_false_with_options": Case(
        (
            (
                QUIZ_INTRO,
                "    answer: true\n",
                "    answer: true\n    options:\n      - text: A\n      - text: B\n",
            ),
        ),
        QUIZ_INTRO,
        "    options:\n      - text: A",
        "a true_false question takes 'answer', not options",
    ),
    "numeric_without_number": Case(
        ((QUIZ_NEXT, "answer: 24", "answer: twenty-four"),),
        QUIZ_NEXT,
        "answer: twenty-four",
        "a numeric question needs a numeric 'answer'",
    ),
    "negative_tolerance": Case(
        ((QUIZ_NEXT, "tolerance: 0", "tolerance: -1"),),
        QUIZ_NEXT,
        "tolerance: -1",
        "tolerance must not be negative",
    ),
    "pass_mark_out_of_range": Case(
        ((QUIZ_INTRO, "pass_mark: 0.8", "pass_mark: 80"),),
        QUIZ_INTRO,
        "pass_mark:",
        "pass_mark must be a fraction in (0, 1]",
    ),
    "draw_larger_than_bank": Case(
        ((QUIZ_NEXT, "draw: 2", "draw: 5"),),
        QUIZ_NEXT,
        "draw:",
        "draw must be between 1 and the number of questions (2)",
    ),
    "max_attempts_zero": Case(
        ((QUIZ_NEXT, "max_attempts: 3", "max_attempts: 0"),),
        QUIZ_NEXT,
        "max_attempts:",
        "max_attempts must be at least 1",
    ),
    "bad_reveal": Case(
        ((QUIZ_NEXT, "reveal: after_each", "reveal: always"),),
        QUIZ_NEXT,
        "reveal:",
        "reveal 'always' must be one of after_each, after_pass, never",
    ),
    "unknown_quiz_key": Case(
        ((QUIZ_NEXT, "reveal: after_each\n", "reveal: after_each\nshuffle: true\n"),),
        QUIZ_NEXT,
        "shuffle:",
        "unknown key 'shuffle'",
    ),
    "unknown_question_key": Case(
        ((QUIZ_NEXT, "    tolerance: 0\n", "    tolerance: 0\n    hint: think\n"),),
        QUIZ_NEXT,
        "hint: think",
        "unknown key 'hint' in questions[1]",
    ),
    "bad_question_type": Case(
        ((QUIZ_NEXT, "type: numeric", "type: essay"),),
        QUIZ_NEXT,
        "type: essay",
        "questions[1].type: Input should be 'single', 'multiple', 'true_false' or 'numeric'",
    ),
    "missing_explanation": Case(
        ((QUIZ_INTRO, "    explanation: See the key terms table.\n", ""),),
        QUIZ_INTRO,
        "id: intro-terms",
        "question 'intro-terms': needs an explanation",
    ),
    "missing_reference": Case(
        ((QUIZ_INTRO, '    reference: "#key-terms"\n', ""),),
        QUIZ_INTRO,
        "id: intro-terms",
        "question 'intro-terms': needs a reference",
    ),
    "module_reference_anchor_missing": Case(
        ((QUIZ_INTRO, '"#key-terms"', '"#no-such-heading"'),),
        QUIZ_INTRO,
        "#no-such-heading",
        "reference '#no-such-heading': no such heading in module 'intro'",
    ),
    "module_reference_wrong_form": Case(
        ((QUIZ_INTRO, '"#key-terms"', '"intro#key-terms"'),),
        QUIZ_INTRO,
        "intro#key-terms",
        "must be '#anchor'",
    ),
    "final_reference_unknown_module": Case(
        ((FINAL, '"next#scheduling"', '"gone#scheduling"'),),
        FINAL,
        "gone#scheduling",
        "reference 'gone#scheduling': no module 'gone' in this course",
    ),
    "final_reference_anchor_missing": Case(
        ((FINAL, '"next#scheduling"', '"next#dosing"'),),
        FINAL,
        "next#dosing",
        "no heading '#dosing' in module 'next'",
    ),
    "final_reference_wrong_form": Case(
        ((FINAL, '"next#scheduling"', '"#scheduling"'),),
        FINAL,
        '"#scheduling"',
        "must be 'module-slug#anchor'",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_reported_with_path_and_line(tree: Path, name: str) -> None:
    case = CASES[name]
    for rel, old, new in case.edits:
        edit(tree, rel, old, new)
    if name == "missing_quiz_file":
        (tree / QUIZ_NEXT).unlink()
    report = load(tree)
    problem = find(report, case.path, case.message)
    assert problem.severity == case.severity
    if isinstance(case.needle, int):
        expected = case.needle
        if expected == -1:
            lines = (tree / case.path).read_text(encoding="utf-8").splitlines()
            expected = max(i for i, text in enumerate(lines, 1) if text == "## Scheduling")
    elif "\n" in case.needle:
        text = (tree / case.path).read_text(encoding="utf-8")
        expected = text[: text.index(case.needle)].count("\n") + 1
    else:
        expected = line_of(tree, case.path, case.needle)
    assert problem.line == expected, str(problem)


def test_duplicate_module_slugs_are_reported(tree: Path) -> None:
    shutil.copy(tree / INTRO, tree / COURSE / "03-intro.md")
    edit(tree, YAML, "final_exam:", "  - file: 03-intro.md\nfinal_exam:")
    report = load(tree)
    problem = find(report, f"{COURSE}/03-intro.md", "duplicate module slug 'intro'")
    assert problem.line == 2
    assert report.courses == []


def test_duplicate_course_slugs_are_reported(tree: Path) -> None:
    shutil.copytree(tree / COURSE, tree / "courses" / "other-course")
    report = load(tree)
    problem = find(
        report, "courses/other-course/course.yaml", "duplicate course slug 'demo-course'"
    )
    assert problem.line == 1
    assert [c.slug for c in report.courses] == ["demo-course"]


def test_markdown_file_not_listed_is_a_warning(tree: Path) -> None:
    (tree / COURSE / "03-extra.md").write_text("---\nslug: extra\n---\n", encoding="utf-8")
    report = load(tree)
    problem = find(report, f"{COURSE}/03-extra.md", "not listed in course.yaml")
    assert (problem.line, problem.severity) == (1, "warning")
    assert report.errors == []


def test_stray_quiz_file_is_a_warning(tree: Path) -> None:
    (tree / "quizzes/demo-course/old.yaml").write_text("title: old\n", encoding="utf-8")
    problem = find(load(tree), "quizzes/demo-course/old.yaml", "it is ignored")
    assert problem.severity == "warning"


def test_missing_course_yaml_is_an_error(tree: Path) -> None:
    (tree / YAML).unlink()
    report = load(tree)
    assert find(report, YAML, "course.yaml is missing").line == 1
    assert report.courses == []


def test_a_course_with_missing_parts_is_not_built_but_others_are_checked(tree: Path) -> None:
    (tree / NEXT).unlink()
    report = load(tree)
    assert report.courses == []
    assert find(report, YAML, "'02-next.md' is listed but missing")
    # The surviving module is still checked: its link into the missing module is not noise.
    assert not [p for p in report.problems if p.path == INTRO]


def test_prerequisites_default_to_the_previous_module(tree: Path) -> None:
    edit(tree, YAML, "    prerequisites: [intro]\n", "")
    [course] = load(tree).courses
    assert [m.prerequisites for m in course.modules] == [[], ["intro"]]


def test_explicit_empty_prerequisites_unlock_a_module(tree: Path) -> None:
    edit(tree, YAML, "prerequisites: [intro]", "prerequisites: []")
    [course] = load(tree).courses
    assert course.modules[1].prerequisites == []


def test_legal_callout_within_twelve_months_is_fine(tree: Path) -> None:
    edit(tree, NEXT, "as-of=2026-09-01", "as-of=2025-11-23")
    assert load(tree).problems == []


def test_never_raises_on_garbage(tree: Path) -> None:
    (tree / YAML).write_bytes(b"\xff\xfe not utf-8")
    (tree / QUIZ_INTRO).write_text("- just\n- a list\n", encoding="utf-8")
    report = load(tree)
    assert find(report, YAML, "not valid UTF-8").line == 1


def test_quiz_that_is_not_a_mapping_is_reported(tree: Path) -> None:
    (tree / QUIZ_INTRO).write_text("- just\n- a list\n", encoding="utf-8")
    assert find(load(tree), QUIZ_INTRO, "expected a mapping of keys").line == 1


# --- bibliography --------------------------------------------------------------------------------


def test_parse_bibtex_returns_entries_with_lines() -> None:
    entries, problems = parse_bibtex((DATA / BIB).read_text(encoding="utf-8"))
    assert problems == []
    assert list(entries) == ["Zanos2018", "Spravato-PI"]
    assert entries["Zanos2018"].line == 1
    assert entries["Spravato-PI"].line == line_of(DATA, BIB, "@misc{Spravato-PI")
    assert entries["Zanos2018"].fields["ENTRYTYPE"] == "article"


def test_parse_bibtex_reports_unparsable_entries() -> None:
    text = "@article{Good,\n  title={T}, doi={10.1/x}\n}\n\n@article{Broken\n  title = oops\n"
    entries, problems = parse_bibtex(text)
    assert list(entries) == ["Good"]
    assert problems == [(5, "could not parse entry 'Broken' (check braces, commas, quotes)")]


def test_format_ama_article() -> None:
    entries, _ = parse_bibtex((DATA / BIB).read_text(encoding="utf-8"))
    assert format_ama(entries["Zanos2018"]) == (
        "Zanos P, Gould TD. Mechanisms of ketamine action as an antidepressant. Mol Psychiatry. "
        "2018;23(4):801-811. doi:10.1038/mp.2017.255 PMID: 29532791"
    )


def test_format_ama_corporate_author_and_url() -> None:
    entries, _ = parse_bibtex((DATA / BIB).read_text(encoding="utf-8"))
    assert format_ama(entries["Spravato-PI"]) == (
        "Janssen Pharmaceuticals. SPRAVATO (esketamine) nasal spray: prescribing information. "
        "2020. https://www.accessdata.fda.gov/drugsatfda_docs/label/2020/211243s004lbl.pdf"
    )


def test_format_ama_lists_three_authors_then_et_al_above_six() -> None:
    authors = " and ".join(f"Last{i}, First{i} Middle" for i in range(7))
    entry = BibEntry(
        key="Many",
        fields={"ENTRYTYPE": "article", "author": authors, "title": "Why?", "journal": "J",
                "year": "2020", "doi": "https://doi.org/10.1/abc"},
        line=1,
    )  # fmt: skip
    assert format_ama(entry) == ("Last0 FM, Last1 FM, Last2 FM, et al. Why? J. 2020. doi:10.1/abc")


def test_format_ama_book_and_latex_accents() -> None:
    entry = BibEntry(
        key="Book",
        fields={
            "ENTRYTYPE": "book",
            "author": 'M{\\"u}ller, J{\\"o}rg and van der Berg, Anna',
            "title": "Psychedelic {Therapy} \\& Ethics",
            "edition": "2",
            "publisher": "Example Press",
            "year": "2021",
            "url": "https://book.example",
        },
        line=1,
    )
    assert format_ama(entry) == (
        "Müller J, van der Berg A. Psychedelic Therapy & Ethics. 2nd ed. Example Press; 2021. "
        "https://book.example"
    )
