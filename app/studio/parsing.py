"""Load and validate a content tree (courses/ and quizzes/) without touching the database.

`load_content` never raises on bad content: every problem becomes a `Problem` with a path
relative to the content root and a best-effort 1-based line, so authors can jump to it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, cast

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.certificates.accreditation import (
    Approval,
    Body,
    CEBroker,
    CourseFacts,
    course_rule_failures,
)
from app.courses.markdown import Rendered, course_asset_path, render_markdown
from app.licences.professions import PROFESSIONS
from app.studio.bibliography import BibEntry, parse_bibtex

Severity = Literal["error", "warning"]
QuestionType = Literal["single", "multiple", "true_false", "numeric"]
Reveal = Literal["after_each", "after_pass", "never"]

WORDS_PER_MINUTE = 200
MINUTES_PER_QUESTION = 1
TOLERANCE = 0.25  # declared reading time and CE hours may differ this much from the estimate
LEGAL_MAX_AGE_MONTHS = 12

_SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_MODULE_FILE_RE = re.compile(r"\d{2,3}-([a-z0-9]+(?:-[a-z0-9]+)*)\.md")
_QUESTION_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_ABOVE_RE = re.compile(r"\b(all|none|both|neither) of the above\b", re.IGNORECASE)


# --- public data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    path: str  # relative to the content root, e.g. "courses/demo/01-intro.md"
    line: int  # 1-based; 1 when unknown
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        if self.severity == "warning":
            return f"{self.path}:{self.line}: warning: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class OptionSpec:
    text: str
    correct: bool


@dataclass
class QuestionSpec:
    id: str
    type: QuestionType
    prompt: str
    options: list[OptionSpec]
    answer: float | bool | None
    tolerance: float
    explanation: str
    reference: str
    line: int


@dataclass
class QuizSpec:
    path: str
    title: str
    pass_mark: float
    draw: int | None
    max_attempts: int
    cooldown_hours: float
    time_limit_minutes: int | None
    reveal: Reveal
    questions: list[QuestionSpec]
    source: str  # the file's exact text

    @property
    def questions_per_attempt(self) -> int:
        return self.draw if self.draw is not None else len(self.questions)


@dataclass
class ModuleSpec:
    slug: str
    title: str
    position: int  # 1-based, in course.yaml order
    path: str
    estimated_minutes: int  # as declared, else computed from the word count
    objectives: list[str]
    prerequisites: list[str]
    body: str  # Markdown after the front matter
    word_count: int
    source: str


@dataclass
class PageSpec:
    slug: str
    title: str
    path: str
    body: str
    source: str


@dataclass
class EvaluationQuestionSpec:
    id: str
    type: Literal["likert", "text"]
    prompt: str
    required: bool


@dataclass
class AuthorSpec:
    name: str
    credentials: str
    disclosure: str


@dataclass
class CourseSpec:
    slug: str
    title: str
    summary: str
    audience: str
    ce_hours: float
    instructional_level: str
    delivery_format: str
    objectives: list[str]
    authors: list[AuthorSpec]
    provider_name: str
    accreditation_statement: str
    release_date: date
    last_review_date: date
    expires_on: date
    certificate_validity_months: int
    status: Literal["draft", "published"]
    pass_mark_statement: str
    modules: list[ModuleSpec]
    quizzes: dict[str, QuizSpec]  # by module slug
    final_exam: QuizSpec
    evaluation: list[EvaluationQuestionSpec]
    closing: PageSpec | None
    bibliography_source: str
    course_yaml_source: str
    path: str  # "courses/<slug>"
    credit_basis: str = ""
    approvals: list[Approval] = field(default_factory=list)


@dataclass
class ContentReport:
    """Courses that could be built (possibly with errors), every problem, and human stats."""

    courses: list[CourseSpec]
    problems: list[Problem]
    stats: list[str]

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "warning"]


def load_content(root: Path, *, today: date) -> ContentReport:
    """Load every course under root/courses (quizzes from root/quizzes); never raises on content."""
    problems: list[Problem] = []
    stats: list[str] = []
    courses: list[CourseSpec] = []
    courses_dir = root / "courses"
    if not courses_dir.is_dir():
        problems.append(Problem("courses", 1, "no courses/ folder under the content root"))
        return ContentReport(courses=courses, problems=problems, stats=stats)

    slugs: dict[str, str] = {}
    course_dirs = sorted(
        path for path in courses_dir.iterdir() if path.is_dir() and not path.name.startswith(".")
    )
    for course_dir in course_dirs:
        loader = _CourseLoader(root, course_dir, today)
        course = loader.load()
        problems.extend(loader.problems)
        stats.extend(loader.stats)
        if loader.slug is not None:
            if loader.slug in slugs:
                problems.append(
                    Problem(
                        loader.yaml_path,
                        loader.slug_line,
                        f"duplicate course slug '{loader.slug}' (also in {slugs[loader.slug]})",
                    )
                )
                continue
            slugs[loader.slug] = loader.yaml_path
        if course is not None:
            courses.append(course)

    quizzes_dir = root / "quizzes"
    if quizzes_dir.is_dir():
        known = {path.name for path in course_dirs}
        for quiz_dir in sorted(quizzes_dir.iterdir()):
            if (
                quiz_dir.is_dir()
                and not quiz_dir.name.startswith(".")
                and quiz_dir.name not in known
            ):
                problems.append(
                    Problem(
                        f"quizzes/{quiz_dir.name}",
                        1,
                        f"no course folder courses/{quiz_dir.name}/ for these quiz banks",
                        "warning",
                    )
                )
    problems.sort(key=lambda problem: (problem.path, problem.line))
    return ContentReport(courses=courses, problems=problems, stats=stats)


# --- validation models -------------------------------------------------------------------------


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _slug(value: str) -> str:
    if not _SLUG_RE.fullmatch(value):
        raise ValueError("must be lower-case letters, digits and single hyphens, e.g. 'intro'")
    return value


def _to_date(value: object) -> object:
    # YAML gives dates for unquoted 2025-01-31; accept the quoted form too, but nothing fuzzier.
    if isinstance(value, datetime):
        raise ValueError("expected a date (YYYY-MM-DD), not a date and time")
    if isinstance(value, str):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError("expected a date as YYYY-MM-DD")
        return date.fromisoformat(value)
    return value


Text = Annotated[str, AfterValidator(_non_empty)]
Slug = Annotated[str, AfterValidator(_slug)]
Day = Annotated[date, BeforeValidator(_to_date)]


class _Model(BaseModel):
    # Strict: YAML already types values, so "3" where a number belongs is an authoring mistake.
    model_config = ConfigDict(extra="forbid", strict=True)


class _AuthorModel(_Model):
    name: Text
    credentials: str = ""
    disclosure: Text


class _ProviderModel(_Model):
    name: Text
    accreditation_statement: Text


class _ModuleRefModel(_Model):
    file: Text
    prerequisites: list[Slug] | None = None


class _EvaluationModel(_Model):
    id: Text
    type: Literal["likert", "text"]
    prompt: Text
    required: bool


def _profession(value: str) -> str:
    if value not in PROFESSIONS:
        raise ValueError(f"unknown profession '{value}'; use one of: {', '.join(PROFESSIONS)}")
    return value


def _us_state(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError("use a two-letter upper-case state code, e.g. FL")
    return value


ProfessionKey = Annotated[str, AfterValidator(_profession)]
StateCode = Annotated[str, AfterValidator(_us_state)]


class _CEBrokerModel(_Model):
    provider_tracking_number: Text
    course_tracking_number: str = ""
    profession_codes: Annotated[dict[ProfessionKey, Text], Field(min_length=1)]
    subject_code: str = ""
    hours: Annotated[float, Field(gt=0)] | None = None


class _ApprovalModel(_Model):
    id: Slug
    body: Body
    body_name: str = ""
    number: Text
    statement: Text
    credit_type: Text
    credit_amount: Annotated[float, Field(gt=0)]
    professions: Annotated[list[ProfessionKey], Field(min_length=1)]
    states: list[StateCode] = Field(default_factory=list)
    valid_from: Day
    valid_until: Day
    min_pass_mark: Annotated[float, Field(gt=0, le=1)] | None = None
    cebroker: _CEBrokerModel | None = None


class _CourseModel(_Model):
    slug: Slug
    title: Text
    summary: Text
    audience: Text
    ce_hours: Annotated[float, Field(gt=0)]
    instructional_level: Literal["introductory", "intermediate", "advanced"]
    delivery_format: Text
    objectives: Annotated[list[Text], Field(min_length=1)]
    authors: Annotated[list[_AuthorModel], Field(min_length=1)]
    provider: _ProviderModel
    release_date: Day
    last_review_date: Day
    expires_on: Day
    certificate_validity_months: Annotated[int, Field(ge=1)]
    status: Literal["draft", "published"]
    pass_mark_statement: str = ""
    modules: Annotated[list[_ModuleRefModel], Field(min_length=1)]
    final_exam: Text
    closing: Text | None = None
    evaluation: Annotated[list[_EvaluationModel], Field(min_length=1)]
    credit_basis: str = ""
    approvals: list[_ApprovalModel] = Field(default_factory=list)


class _ModuleFrontModel(_Model):
    slug: Slug
    title: Text
    estimated_minutes: Annotated[int, Field(ge=1)] | None = None
    objectives: Annotated[list[Text], Field(min_length=1)]


class _PageFrontModel(_Model):
    slug: Slug
    title: Text


class _QuizModel(_Model):
    title: Text
    pass_mark: float
    draw: int | None = None
    max_attempts: int
    cooldown_hours: float
    time_limit_minutes: int | None = None
    reveal: str  # checked by hand, for a message that lists the choices
    questions: Annotated[list[Any], Field(min_length=1)]


class _OptionModel(_Model):
    text: Text
    correct: bool = False


class _QuestionModel(_Model):
    id: Text
    type: QuestionType
    prompt: Text
    options: list[_OptionModel] = Field(default_factory=list)
    answer: Any = None  # its type depends on the question type; checked by hand
    tolerance: float | None = None
    explanation: str = ""
    reference: str = ""


M = TypeVar("M", bound=_Model)


# --- YAML with line numbers --------------------------------------------------------------------


@dataclass
class _Yaml:
    data: object
    lines: dict[tuple[str | int, ...], int]
    offset: int  # file line of the YAML text's first line, minus one

    def line(self, loc: Iterable[str | int]) -> int:
        """The file line of the deepest known part of loc (a key's own line for mapping keys)."""
        key = tuple(loc)
        while key:
            if key in self.lines:
                return self.lines[key] + self.offset
            key = key[:-1]
        return self.lines.get((), 1) + self.offset


def _parse_yaml(text: str, path: str, problems: list[Problem], offset: int = 0) -> _Yaml | None:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 1 if mark else 1) + offset
        detail = " ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        problems.append(Problem(path, line, f"invalid YAML: {detail}"))
        return None
    except (yaml.YAMLError, ValueError) as exc:  # e.g. a timestamp like 2025-13-01
        problems.append(Problem(path, 1 + offset, f"invalid YAML: {exc}"))
        return None
    finally:
        loader.dispose()
    parsed = _Yaml(data=data, lines={}, offset=offset)
    if node is not None:
        _index_node(node, (), parsed.lines, path, problems, offset)
    return parsed


def _index_node(
    node: Node,
    loc: tuple[str | int, ...],
    lines: dict[tuple[str | int, ...], int],
    path: str,
    problems: list[Problem],
    offset: int,
) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
            key_line = key_node.start_mark.line + 1
            if key in seen:
                # PyYAML silently keeps the last value; a duplicate is always a mistake.
                problems.append(Problem(path, key_line + offset, f"duplicate key '{key}'"))
            seen.add(key)
            lines[(*loc, key)] = key_line
            _index_node(value_node, (*loc, key), lines, path, problems, offset)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _index_node(item, (*loc, index), lines, path, problems, offset)


def _validate(
    model: type[M],
    data: object,
    parsed: _Yaml,
    path: str,
    problems: list[Problem],
    prefix: tuple[str | int, ...] = (),
) -> M | None:
    if not isinstance(data, dict):
        where = f" ({_dotted(prefix)})" if prefix else ""
        problems.append(Problem(path, parsed.line(prefix), f"expected a mapping of keys{where}"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = (*prefix, *(part for part in error["loc"] if isinstance(part, str | int)))
            problems.append(
                Problem(path, parsed.line(loc), _error_message(error["type"], loc, error["msg"]))
            )
        return None


def _error_message(kind: str, loc: tuple[str | int, ...], message: str) -> str:
    parent = f" in {_dotted(loc[:-1])}" if len(loc) > 1 else ""
    if kind == "missing":
        return f"missing required key '{loc[-1]}'{parent}"
    if kind == "extra_forbidden":
        return f"unknown key '{loc[-1]}'{parent}"
    message = message.removeprefix("Value error, ")
    return f"{_dotted(loc)}: {message}" if loc else message


def _dotted(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# --- files -------------------------------------------------------------------------------------


def _read(path: Path, rel: str, problems: list[Problem]) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(rel, 1, f"not valid UTF-8 text ({exc.reason})"))
    except OSError as exc:
        problems.append(Problem(rel, 1, f"cannot read file: {exc.strerror}"))
    return None


@dataclass
class _FrontMatter:
    yaml_text: str
    body: str
    body_offset: int  # file line of the body's first line, minus one


def _split_front_matter(text: str, rel: str, problems: list[Problem]) -> _FrontMatter | None:
    lines = text.removeprefix("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        problems.append(
            Problem(rel, 1, "missing YAML front matter: the file must start with '---'")
        )
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return _FrontMatter("".join(lines[1:index]), "".join(lines[index + 1 :]), index + 1)
    problems.append(Problem(rel, 1, "front matter is not closed by a '---' line"))
    return None


@dataclass
class _Page:
    """A rendered module or closing page, with what cross-file checks need."""

    file: str
    rel: str
    slug: str
    title: str
    front: _ModuleFrontModel | None
    body: str
    body_offset: int
    source: str
    rendered: Rendered


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    for candidate_day in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, candidate_day)
        except ValueError:
            continue
    raise AssertionError("unreachable: day 28 exists in every month")


def _approval(model: _ApprovalModel) -> Approval:
    broker = model.cebroker
    return Approval(
        id=model.id,
        body=model.body,
        body_name=model.body_name.strip(),
        number=model.number,
        statement=model.statement.strip(),
        credit_type=model.credit_type,
        credit_amount=model.credit_amount,
        professions=tuple(model.professions),
        states=tuple(model.states),
        valid_from=model.valid_from,
        valid_until=model.valid_until,
        min_pass_mark=model.min_pass_mark,
        cebroker=(
            CEBroker(
                provider_tracking_number=broker.provider_tracking_number,
                course_tracking_number=broker.course_tracking_number,
                profession_codes=dict(broker.profession_codes),
                subject_code=broker.subject_code,
                hours=broker.hours,
            )
            if broker
            else None
        ),
    )


def _expected_slug(file: str, page: _Page | None) -> str | None:
    if page is not None:
        return page.slug
    match = _MODULE_FILE_RE.fullmatch(file)
    return match.group(1) if match else None


def _reading_minutes(words: int) -> int:
    return math.ceil(words / WORDS_PER_MINUTE)


def _differs(declared: float, estimate: float) -> bool:
    return estimate > 0 and abs(declared - estimate) > TOLERANCE * estimate


# --- one course --------------------------------------------------------------------------------


class _CourseLoader:
    def __init__(self, root: Path, course_dir: Path, today: date) -> None:
        self.root = root
        self.dir = course_dir
        self.today = today
        self.rel_dir = course_dir.relative_to(root).as_posix()
        self.quiz_dir = root / "quizzes" / course_dir.name
        self.yaml_path = f"{self.rel_dir}/course.yaml"
        self.bib_rel = f"{self.rel_dir}/references.bib"
        self.problems: list[Problem] = []
        self.stats: list[str] = []
        self.slug: str | None = None
        self.slug_line = 1
        self.complete = True  # False once a part is missing, so no CourseSpec can be built

    def error(self, path: str, line: int, message: str) -> None:
        self.problems.append(Problem(path, line, message))

    def warn(self, path: str, line: int, message: str) -> None:
        self.problems.append(Problem(path, line, message, "warning"))

    def load(self) -> CourseSpec | None:
        yaml_file = self.dir / "course.yaml"
        if not yaml_file.is_file():
            self.error(self.yaml_path, 1, "course.yaml is missing")
            return None
        source = _read(yaml_file, self.yaml_path, self.problems)
        if source is None:
            return None
        parsed = _parse_yaml(source, self.yaml_path, self.problems)
        if parsed is None:
            return None
        model = _validate(_CourseModel, parsed.data, parsed, self.yaml_path, self.problems)
        if model is None:
            return None
        self.slug, self.slug_line = model.slug, parsed.line(["slug"])
        self._check_course_fields(model, parsed)

        bib_source, bibliography = self._load_bibliography()
        pages = self._load_modules(model, parsed, bibliography)
        closing = self._load_closing(model, parsed, bibliography)
        self._warn_unlisted_markdown(model)
        self._check_pages(model, pages, closing, bibliography)

        modules = self._module_specs(model, parsed, pages)
        quizzes, final_exam = self._load_quizzes(model, parsed, pages)
        self._seat_time(model, parsed, modules, quizzes, final_exam)
        self._check_approvals(model, parsed, final_exam)

        if not self.complete or final_exam is None or len(modules) != len(model.modules):
            return None
        return CourseSpec(
            slug=model.slug,
            title=model.title,
            summary=model.summary,
            audience=model.audience,
            ce_hours=model.ce_hours,
            instructional_level=model.instructional_level,
            delivery_format=model.delivery_format,
            objectives=list(model.objectives),
            authors=[AuthorSpec(a.name, a.credentials, a.disclosure) for a in model.authors],
            provider_name=model.provider.name,
            accreditation_statement=model.provider.accreditation_statement,
            release_date=model.release_date,
            last_review_date=model.last_review_date,
            expires_on=model.expires_on,
            certificate_validity_months=model.certificate_validity_months,
            status=model.status,
            pass_mark_statement=model.pass_mark_statement,
            modules=modules,
            quizzes=quizzes,
            final_exam=final_exam,
            evaluation=[
                EvaluationQuestionSpec(q.id, q.type, q.prompt, q.required) for q in model.evaluation
            ],
            closing=(
                PageSpec(closing.slug, closing.title, closing.rel, closing.body, closing.source)
                if closing
                else None
            ),
            bibliography_source=bib_source,
            course_yaml_source=source,
            path=self.rel_dir,
            credit_basis=model.credit_basis.strip(),
            approvals=[_approval(a) for a in model.approvals],
        )

    # course.yaml

    def _check_course_fields(self, model: _CourseModel, parsed: _Yaml) -> None:
        if model.slug != self.dir.name:
            self.error(
                self.yaml_path,
                parsed.line(["slug"]),
                f"slug '{model.slug}' must match the folder name '{self.dir.name}'",
            )
        if model.last_review_date < model.release_date:
            self.error(
                self.yaml_path,
                parsed.line(["last_review_date"]),
                "last_review_date is before release_date",
            )
        if model.expires_on <= model.release_date:
            self.error(
                self.yaml_path, parsed.line(["expires_on"]), "expires_on must be after release_date"
            )
        if model.expires_on < self.today:
            self.warn(
                self.yaml_path,
                parsed.line(["expires_on"]),
                f"course expired on {model.expires_on.isoformat()}",
            )
        seen: dict[str, int] = {}
        for index, question in enumerate(model.evaluation):
            line = parsed.line(["evaluation", index, "id"])
            if question.id in seen:
                self.error(
                    self.yaml_path,
                    line,
                    f"duplicate evaluation id '{question.id}' (first at line {seen[question.id]})",
                )
            else:
                seen[question.id] = line

    def _check_approvals(
        self, model: _CourseModel, parsed: _Yaml, final_exam: QuizSpec | None
    ) -> None:
        """Each approval's own consistency, and the accreditation rules the course must meet."""
        facts = CourseFacts(
            final_pass_mark=final_exam.pass_mark if final_exam else 1.0,
            delivery_format=model.delivery_format,
            instructional_level=model.instructional_level,
            credit_basis=model.credit_basis,
            ce_hours=model.ce_hours,
            has_evaluation=bool(model.evaluation),
        )
        seen: dict[str, int] = {}
        for index, item in enumerate(model.approvals):
            line = parsed.line(["approvals", index, "id"])
            if item.id in seen:
                self.error(
                    self.yaml_path,
                    line,
                    f"duplicate approval id '{item.id}' (first at line {seen[item.id]})",
                )
            seen.setdefault(item.id, line)
            if item.valid_until < item.valid_from:
                self.error(
                    self.yaml_path,
                    parsed.line(["approvals", index, "valid_until"]),
                    f"approval '{item.id}': valid_until is before valid_from",
                )
            elif item.valid_until < self.today:
                self.warn(
                    self.yaml_path,
                    parsed.line(["approvals", index, "valid_until"]),
                    f"approval '{item.id}' lapsed on {item.valid_until.isoformat()}: "
                    "certificates no longer print it",
                )
            if item.body == "State board" and not item.body_name.strip():
                self.error(
                    self.yaml_path,
                    parsed.line(["approvals", index, "body"]),
                    f"approval '{item.id}': name the state board in body_name",
                )
            if item.cebroker is not None:
                for profession in item.cebroker.profession_codes:
                    if profession not in item.professions:
                        self.error(
                            self.yaml_path,
                            parsed.line(["approvals", index, "cebroker", "profession_codes"]),
                            f"approval '{item.id}': CE Broker code for '{profession}', "
                            "which the approval does not cover",
                        )
            if final_exam is None:
                continue
            for reason in course_rule_failures(_approval(item), facts):
                self.error(self.yaml_path, line, f"accreditation rule: {reason}")

    # bibliography

    def _load_bibliography(self) -> tuple[str, dict[str, BibEntry]]:
        bib_file = self.dir / "references.bib"
        if not bib_file.is_file():
            return "", {}
        text = _read(bib_file, self.bib_rel, self.problems)
        if text is None:
            return "", {}
        entries, problems = parse_bibtex(text)
        for line, message in problems:
            self.error(self.bib_rel, line, message)
        return text, entries

    # modules and closing page

    def _load_page(
        self, file: str, bibliography: Mapping[str, BibEntry], *, is_module: bool
    ) -> _Page | None:
        rel = f"{self.rel_dir}/{file}"
        source = _read(self.dir / file, rel, self.problems)
        if source is None:
            return None
        front = _split_front_matter(source, rel, self.problems)
        if front is None:
            return None
        parsed = _parse_yaml(front.yaml_text, rel, self.problems, offset=1)
        if parsed is None:
            return None
        model: _ModuleFrontModel | _PageFrontModel | None
        if is_module:
            model = _validate(_ModuleFrontModel, parsed.data, parsed, rel, self.problems)
        else:
            model = _validate(_PageFrontModel, parsed.data, parsed, rel, self.problems)
        if model is None:
            return None
        rendered = render_markdown(front.body, bibliography=bibliography)
        for line, message in rendered.problems:
            self.error(rel, line + front.body_offset, message)
        return _Page(
            file=file,
            rel=rel,
            slug=model.slug,
            title=model.title,
            front=model if isinstance(model, _ModuleFrontModel) else None,
            body=front.body,
            body_offset=front.body_offset,
            source=source,
            rendered=rendered,
        )

    def _plain_file_name(self, name: str, suffix: str, parsed: _Yaml, loc: list[str | int]) -> bool:
        if "/" in name or "\\" in name or name.startswith(".") or not name.endswith(suffix):
            self.error(
                self.yaml_path,
                parsed.line(loc),
                f"'{name}' must be a plain file name ending in {suffix}",
            )
            return False
        return True

    def _load_modules(
        self, model: _CourseModel, parsed: _Yaml, bibliography: Mapping[str, BibEntry]
    ) -> list[_Page | None]:
        pages: list[_Page | None] = []
        files: dict[str, int] = {}
        slugs: dict[str, str] = {}
        for index, ref in enumerate(model.modules):
            loc: list[str | int] = ["modules", index, "file"]
            line = parsed.line(loc)
            page: _Page | None = None
            if ref.file in files:
                self.error(self.yaml_path, line, f"module file '{ref.file}' is listed twice")
            elif not self._plain_file_name(ref.file, ".md", parsed, loc):
                pass
            elif not _MODULE_FILE_RE.fullmatch(ref.file):
                self.error(
                    self.yaml_path,
                    line,
                    f"module file '{ref.file}' must be named NN-<module-slug>.md, e.g. 01-intro.md",
                )
            elif not (self.dir / ref.file).is_file():
                self.error(self.yaml_path, line, f"module file '{ref.file}' is listed but missing")
            else:
                page = self._load_page(ref.file, bibliography, is_module=True)
            files.setdefault(ref.file, line)
            if page is not None:
                match = _MODULE_FILE_RE.fullmatch(ref.file)
                if match and match.group(1) != page.slug:
                    self.error(
                        page.rel,
                        2,
                        f"slug '{page.slug}' does not match the file name '{ref.file}' "
                        f"(expected '{match.group(1)}')",
                    )
                if page.slug in slugs:
                    self.error(
                        page.rel,
                        2,
                        f"duplicate module slug '{page.slug}' (also in {slugs[page.slug]})",
                    )
                    page = None
                else:
                    slugs[page.slug] = ref.file
            if page is None:
                self.complete = False
            pages.append(page)
        return pages

    def _load_closing(
        self, model: _CourseModel, parsed: _Yaml, bibliography: Mapping[str, BibEntry]
    ) -> _Page | None:
        if model.closing is None:
            return None
        line = parsed.line(["closing"])
        if not self._plain_file_name(model.closing, ".md", parsed, ["closing"]):
            self.complete = False
            return None
        if model.closing in {ref.file for ref in model.modules}:
            self.error(self.yaml_path, line, f"'{model.closing}' is both a module and the closing")
            self.complete = False
            return None
        if not (self.dir / model.closing).is_file():
            self.error(self.yaml_path, line, f"closing page '{model.closing}' is missing")
            self.complete = False
            return None
        page = self._load_page(model.closing, bibliography, is_module=False)
        if page is None:
            self.complete = False
        return page

    def _warn_unlisted_markdown(self, model: _CourseModel) -> None:
        listed = {ref.file for ref in model.modules} | {model.closing}
        for path in sorted(self.dir.glob("*.md")):
            if path.name not in listed:
                self.warn(
                    f"{self.rel_dir}/{path.name}",
                    1,
                    "not listed in course.yaml (modules or closing), so it will not be imported",
                )

    def _check_pages(
        self,
        model: _CourseModel,
        modules: list[_Page | None],
        closing: _Page | None,
        bibliography: Mapping[str, BibEntry],
    ) -> None:
        pages = [page for page in [*modules, closing] if page is not None]
        by_file = {page.file: page for page in pages}
        listed = {ref.file for ref in model.modules} | {model.closing}
        cited: set[str] = set()
        stale_before = _add_months(self.today, -LEGAL_MAX_AGE_MONTHS)
        for page in pages:
            cited.update(page.rendered.citations)
            for target, line in page.rendered.links:
                self._check_link(page, target, line + page.body_offset, by_file, listed)
            for src, line in page.rendered.images:
                path = course_asset_path(src)
                if path is not None and not (self.dir / path).is_file():
                    self.error(page.rel, line + page.body_offset, f"image '{src}' not found")
            for as_of, line in page.rendered.legal_dates:
                if as_of < stale_before:
                    self.warn(
                        page.rel,
                        line + page.body_offset,
                        f"legal callout was last checked {as_of.isoformat()}, more than "
                        f"{LEGAL_MAX_AGE_MONTHS} months ago: review it and update as-of "
                        "(or add reviewed=YYYY-MM-DD once you confirm it is still current)",
                    )
        for key, entry in bibliography.items():
            if key not in cited:
                self.error(self.bib_rel, entry.line, f"entry '{key}' is never cited in this course")

    def _check_link(
        self,
        page: _Page,
        target: str,
        line: int,
        by_file: Mapping[str, _Page],
        listed: set[str | None],
    ) -> None:
        path, _, anchor = target.partition("#")
        path = path.split("?", 1)[0]
        if not path:
            if anchor and anchor not in page.rendered.anchors:
                self.error(page.rel, line, f"link to '#{anchor}': no such heading in this page")
            return
        if path.startswith("/"):
            return  # a site path such as /courses, not a content file
        if path.endswith(".md"):
            other = by_file.get(path)
            if other is not None:
                if anchor and anchor not in other.rendered.anchors:
                    self.error(
                        page.rel, line, f"link to '{target}': no heading '#{anchor}' in {path}"
                    )
            elif path not in listed:
                self.error(page.rel, line, f"link to '{target}': no module '{path}' in this course")
            # else: a listed file that failed to load; its own problems say why
            return
        asset = course_asset_path(path)
        if asset is None:
            self.error(page.rel, line, f"link to '{target}' leaves the course folder")
        elif not (self.dir / asset).is_file():
            self.error(page.rel, line, f"link to '{target}': file not found")

    def _module_specs(
        self, model: _CourseModel, parsed: _Yaml, pages: list[_Page | None]
    ) -> list[ModuleSpec]:
        slugs = [
            _expected_slug(ref.file, page) for ref, page in zip(model.modules, pages, strict=True)
        ]
        order = {slug: index for index, slug in enumerate(slugs) if slug}
        specs: list[ModuleSpec] = []
        for index, (ref, page) in enumerate(zip(model.modules, pages, strict=True)):
            if ref.prerequisites is None:
                previous = slugs[index - 1] if index > 0 else None
                prerequisites = [previous] if previous else []
            else:
                prerequisites = list(ref.prerequisites)
                for number, slug in enumerate(ref.prerequisites):
                    line = parsed.line(["modules", index, "prerequisites", number])
                    if slug not in order:
                        self.error(self.yaml_path, line, f"prerequisite '{slug}' is not a module")
                    elif order[slug] == index:
                        self.error(self.yaml_path, line, f"module '{slug}' cannot require itself")
                    elif order[slug] > index:
                        self.error(
                            self.yaml_path,
                            line,
                            f"prerequisite '{slug}' comes after this module in the course",
                        )
            if page is None or page.front is None:
                continue
            words = page.rendered.word_count
            estimate = _reading_minutes(words)
            declared = page.front.estimated_minutes
            note = f" (declares {declared} min)" if declared is not None else ""
            self.stats.append(f"{page.rel}: {words:,} words, ~{estimate} min{note}")
            if declared is not None and _differs(declared, estimate):
                self.warn(
                    page.rel,
                    self._front_line(page, "estimated_minutes"),
                    f"estimated_minutes is {declared}, but {words:,} words read in about "
                    f"{estimate} min at {WORDS_PER_MINUTE} words per minute",
                )
            specs.append(
                ModuleSpec(
                    slug=page.slug,
                    title=page.title,
                    position=index + 1,
                    path=page.rel,
                    estimated_minutes=declared if declared is not None else estimate,
                    objectives=list(page.front.objectives),
                    prerequisites=prerequisites,
                    body=page.body,
                    word_count=words,
                    source=page.source,
                )
            )
        return specs

    @staticmethod
    def _front_line(page: _Page, key: str) -> int:
        for number, text in enumerate(page.source.splitlines()[: page.body_offset], start=1):
            if text.startswith(f"{key}:"):
                return number
        return 1

    # quizzes

    def _load_quizzes(
        self, model: _CourseModel, parsed: _Yaml, pages: list[_Page | None]
    ) -> tuple[dict[str, QuizSpec], QuizSpec | None]:
        quizzes: dict[str, QuizSpec] = {}
        question_ids: dict[str, str] = {}
        anchors = {page.slug: page.rendered.anchors for page in pages if page is not None}
        used: set[str] = set()
        for index, page in enumerate(pages):
            if page is None:
                continue
            name = f"{page.slug}.yaml"
            used.add(name)
            if not (self.quiz_dir / name).is_file():
                self.error(
                    self.yaml_path,
                    parsed.line(["modules", index, "file"]),
                    f"module '{page.slug}' has no quiz bank: expected "
                    f"quizzes/{self.dir.name}/{name}",
                )
                self.complete = False
                continue
            quiz = self._load_quiz(
                name, question_ids, partial(self._module_reference, page=page, anchors=anchors)
            )
            if quiz is None:
                self.complete = False
            else:
                quizzes[page.slug] = quiz

        final: QuizSpec | None = None
        line = parsed.line(["final_exam"])
        if not self._plain_file_name(model.final_exam, ".yaml", parsed, ["final_exam"]):
            self.complete = False
        elif model.final_exam in used:
            self.error(self.yaml_path, line, f"'{model.final_exam}' is a module's quiz bank")
            self.complete = False
        elif not (self.quiz_dir / model.final_exam).is_file():
            self.error(
                self.yaml_path,
                line,
                f"final exam quizzes/{self.dir.name}/{model.final_exam} is missing",
            )
            self.complete = False
        else:
            used.add(model.final_exam)
            final = self._load_quiz(
                model.final_exam,
                question_ids,
                lambda ref: self._final_reference(ref, anchors),
            )
        if self.quiz_dir.is_dir():
            for path in sorted(self.quiz_dir.iterdir()):
                if path.is_file() and path.name not in used:
                    self.warn(
                        f"quizzes/{self.dir.name}/{path.name}",
                        1,
                        "not a module quiz bank or the final exam of this course; it is ignored",
                    )
        return quizzes, final

    @staticmethod
    def _module_reference(
        reference: str, page: _Page, anchors: Mapping[str, set[str]]
    ) -> str | None:
        if not reference.startswith("#"):
            return f"reference '{reference}' must be '#anchor' (a heading in module '{page.slug}')"
        if reference[1:] not in anchors.get(page.slug, set()):
            return f"reference '{reference}': no such heading in module '{page.slug}'"
        return None

    @staticmethod
    def _final_reference(reference: str, anchors: Mapping[str, set[str]]) -> str | None:
        slug, hash_mark, anchor = reference.partition("#")
        if not slug or not hash_mark or not anchor:
            return f"reference '{reference}' must be 'module-slug#anchor' in the final exam"
        if slug not in anchors:
            return f"reference '{reference}': no module '{slug}' in this course"
        if anchor not in anchors[slug]:
            return f"reference '{reference}': no heading '#{anchor}' in module '{slug}'"
        return None

    def _load_quiz(
        self,
        name: str,
        question_ids: dict[str, str],
        check_reference: Callable[[str], str | None],
    ) -> QuizSpec | None:
        rel = f"quizzes/{self.dir.name}/{name}"
        source = _read(self.quiz_dir / name, rel, self.problems)
        if source is None:
            return None
        parsed = _parse_yaml(source, rel, self.problems)
        if parsed is None:
            return None
        model = _validate(_QuizModel, parsed.data, parsed, rel, self.problems)
        if model is None:
            return None

        def line(*loc: str | int) -> int:
            return parsed.line(loc)

        if not 0 < model.pass_mark <= 1:
            self.error(rel, line("pass_mark"), "pass_mark must be a fraction in (0, 1], e.g. 0.8")
        if model.draw is not None and not 1 <= model.draw <= len(model.questions):
            self.error(
                rel,
                line("draw"),
                f"draw must be between 1 and the number of questions ({len(model.questions)})",
            )
        if model.max_attempts < 1:
            self.error(rel, line("max_attempts"), "max_attempts must be at least 1")
        if model.cooldown_hours < 0:
            self.error(rel, line("cooldown_hours"), "cooldown_hours must not be negative")
        if model.time_limit_minutes is not None and model.time_limit_minutes < 1:
            self.error(rel, line("time_limit_minutes"), "time_limit_minutes must be at least 1")
        if model.reveal not in ("after_each", "after_pass", "never"):
            self.error(
                rel,
                line("reveal"),
                f"reveal '{model.reveal}' must be one of after_each, after_pass, never",
            )

        questions: list[QuestionSpec] = []
        valid = True
        for index, raw in enumerate(model.questions):
            question = _validate(
                _QuestionModel, raw, parsed, rel, self.problems, prefix=("questions", index)
            )
            if question is None:
                valid = False
                continue
            spec = self._check_question(question, rel, parsed, index, check_reference)
            where = f"{rel}:{spec.line}"
            if question.id in question_ids:
                self.error(
                    rel,
                    line("questions", index, "id"),
                    f"question id '{question.id}' is already used at {question_ids[question.id]}",
                )
            else:
                question_ids[question.id] = where
            questions.append(spec)
        if not valid:
            return None
        return QuizSpec(
            path=rel,
            title=model.title,
            pass_mark=model.pass_mark,
            draw=model.draw,
            max_attempts=model.max_attempts,
            cooldown_hours=model.cooldown_hours,
            time_limit_minutes=model.time_limit_minutes,
            reveal=cast(Reveal, model.reveal),
            questions=questions,
            source=source,
        )

    def _check_question(
        self,
        question: _QuestionModel,
        rel: str,
        parsed: _Yaml,
        index: int,
        check_reference: Callable[[str], str | None],
    ) -> QuestionSpec:
        def line(*loc: str | int) -> int:
            return parsed.line(("questions", index, *loc))

        def error(message: str, *loc: str | int) -> None:
            self.error(rel, line(*loc), f"question '{question.id}': {message}")

        if not _QUESTION_ID_RE.fullmatch(question.id):
            error("ids may use only letters, digits, '-', '_' and '.'", "id")
        kind = question.type
        correct = [option for option in question.options if option.correct]
        answer: float | bool | None = None
        if kind in ("single", "multiple"):
            if len(question.options) < 2:
                error(f"a {kind} question needs at least 2 options", "options")
            if kind == "single" and len(correct) != 1:
                error(
                    f"a single question needs exactly one correct option, not {len(correct)}",
                    "options",
                )
            if kind == "multiple" and not correct:
                error("a multiple question needs at least one correct option", "options")
            if question.answer is not None:
                error("use 'correct: true' on options instead of 'answer'", "answer")
            texts: set[str] = set()
            for number, option in enumerate(question.options):
                if _ABOVE_RE.search(option.text):
                    self.warn(
                        rel,
                        line("options", number),
                        f"question '{question.id}': avoid '... of the above' options; "
                        "draws and shuffling change what is above",
                    )
                normalized = " ".join(option.text.lower().split())
                if normalized in texts:
                    error("two options have the same text", "options", number)
                texts.add(normalized)
        else:
            if question.options:
                error(f"a {kind} question takes 'answer', not options", "options")
            if kind == "true_false":
                if not isinstance(question.answer, bool):
                    error("a true_false question needs 'answer: true' or 'answer: false'", "answer")
                else:
                    answer = question.answer
            elif isinstance(question.answer, bool) or not isinstance(question.answer, int | float):
                error("a numeric question needs a numeric 'answer'", "answer")
            else:
                answer = float(question.answer)
        tolerance = question.tolerance if question.tolerance is not None else 0.0
        if question.tolerance is not None and kind != "numeric":
            error("tolerance applies only to numeric questions", "tolerance")
        if tolerance < 0:
            error("tolerance must not be negative", "tolerance")
        if not question.explanation.strip():
            error("needs an explanation", "explanation")
        if not question.reference.strip():
            error("needs a reference to the module text", "reference")
        else:
            problem = check_reference(question.reference.strip())
            if problem:
                error(problem, "reference")
        return QuestionSpec(
            id=question.id,
            type=kind,
            prompt=question.prompt,
            options=[OptionSpec(option.text, option.correct) for option in question.options],
            answer=answer,
            tolerance=tolerance,
            explanation=question.explanation,
            reference=question.reference.strip(),
            line=line(),
        )

    # seat time

    def _seat_time(
        self,
        model: _CourseModel,
        parsed: _Yaml,
        modules: list[ModuleSpec],
        quizzes: Mapping[str, QuizSpec],
        final_exam: QuizSpec | None,
    ) -> None:
        if len(modules) != len(model.modules) or final_exam is None:
            return  # an estimate from part of the course would mislead
        reading = sum(_reading_minutes(module.word_count) for module in modules)
        banks = [*quizzes.values(), final_exam]
        questions = sum(quiz.questions_per_attempt for quiz in banks)
        seat = reading + questions * MINUTES_PER_QUESTION
        hours = seat / 60
        self.stats.append(
            f"{self.rel_dir}: seat time ~{seat} min = {hours:.1f} h (reading {reading} min + "
            f"{questions} quiz questions); declares {model.ce_hours:g} CE hours"
        )
        if _differs(model.ce_hours, hours):
            self.warn(
                self.yaml_path,
                parsed.line(["ce_hours"]),
                f"ce_hours is {model.ce_hours:g}, but the estimated seat time is {hours:.1f} h "
                f"({reading} min reading + {questions} min of quiz questions)",
            )
