"""Course analytics for instructors and admins: read-only reports.

Quiz figures come from the summaries kept at submission (app.analytics.summaries): per quiz
totals, one row per learner and quiz, item groups with exact sums; evaluation figures from the
counts kept by triggers. So the report reads rows per question and quiz, the learner table only
its page of learners, and learner statuses are index probes per learner: nothing scans the
attempts or parses every evaluation response.
"""

import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    case,
    cast,
    distinct,
    exists,
    literal,
    or_,
    text,
)
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, func, select

from app.accounts.models import Role, User
from app.analytics import summaries
from app.analytics.errors import CourseNotFoundForStaff, UnknownLearnerStatus
from app.analytics.items import ItemAnalysis
from app.analytics.items import Sums as ItemSums
from app.analytics.models import (
    BankTotals,
    EvaluationCount,
    ItemGroupSums,
    LearnerBankSummary,
)
from app.analytics.schemas import (
    CourseReportOut,
    EvaluationStatsOut,
    FunnelStepOut,
    ItemStatsOut,
    LearnerPageOut,
    LearnerRowOut,
    LikertStatsOut,
    ModuleStatsOut,
    OptionStatsOut,
    TextAnswersOut,
)
from app.certificates.models import Certificate
from app.core.clock import as_utc
from app.core.errors import Forbidden
from app.courses import service as courses
from app.courses.models import Course, Enrollment
from app.quizzes.models import (
    EvaluationResponse,
    QuizBank,
    QuizVersion,
)

FINAL = "final"
STREAM_BATCH = 2000
TEXT_ANSWERS_SHOWN = 100
NOT_STARTED, IN_PROGRESS, FINAL_PASSED, CERTIFIED = (
    "not_started",
    "in_progress",
    "final_passed",
    "certified",
)
LEARNER_STATUSES = {
    NOT_STARTED: "Not started",
    IN_PROGRESS: "In progress",
    FINAL_PASSED: "Passed final exam",
    CERTIFIED: "Certified",
}
CSV_COLUMNS = [
    "full_name",
    "email",
    "enrolled_at",
    "status",
    "progress_percent",
    "modules_passed",
    "modules_total",
    "final_passed",
    "evaluation_submitted",
    "certificate_code",
    "attempts",
    "last_activity_at",
]


# --- who may see what ------------------------------------------------------------------------


def get_course_for_staff(session: Session, user: User, slug: str) -> Course:
    """The course if this user may see its analytics: admins any, instructors their own.
    Raises Forbidden for learners and CourseNotFoundForStaff (404) for anyone else's course,
    so an instructor cannot learn that another instructor's course exists."""
    if user.role not in (Role.instructor, Role.admin):
        raise Forbidden("course analytics are for instructors and admins")
    course = session.exec(select(Course).where(Course.slug == slug)).first()
    if course is None or (user.role != Role.admin and course.owner_id != user.id):
        raise CourseNotFoundForStaff(f"no course {slug!r}")
    return course


def list_courses_for_staff(session: Session, user: User) -> list[Course]:
    """Courses whose analytics this user may see (the same rule as get_course_for_staff)."""
    if user.role not in (Role.instructor, Role.admin):
        raise Forbidden("course analytics are for instructors and admins")
    stmt = select(Course).order_by(col(Course.title))
    if user.role != Role.admin:
        stmt = stmt.where(Course.owner_id == user.id)
    return list(session.exec(stmt))


def _without_jit(session: Session) -> None:
    """PostgreSQL compiles queries whose estimated cost is high with LLVM, which for the
    report's many small correlated probes costs more than the queries themselves (about 0.3 s
    of a 0.6 s status count at full size). Only for this transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


# --- course structure ------------------------------------------------------------------------


@dataclass
class _Bank:
    id: int
    key: str
    title: str
    module_slug: str | None  # None for the final exam


def _banks(session: Session, course: Course) -> tuple[list[_Bank], _Bank | None]:
    """The active modules' banks in course order, and the final exam's bank."""
    rows = session.exec(
        select(QuizBank.id, QuizBank.key, QuizBank.module_id).where(QuizBank.course_id == course.id)
    ).all()
    by_module = {m: (b, k) for b, k, m in rows if m is not None and b is not None}
    modules = []
    for module, version in courses.active_modules(session, course):
        found = by_module.get(module.id) if module.id is not None else None
        if found is not None:
            modules.append(_Bank(found[0], found[1], version.title, module.slug))
    final = next(
        (_Bank(b, k, "Final exam", None) for b, k, m in rows if m is None and k == FINAL and b),
        None,
    )
    return modules, final


# --- the report --------------------------------------------------------------------------------


def course_report(session: Session, course: Course) -> CourseReportOut:
    """Funnel, per-module statistics, item analysis and evaluation results for one course."""
    _without_jit(session)
    modules, final = _banks(session, course)
    banks = modules + ([final] if final else [])
    stats = _bank_stats(session, [b.id for b in banks])
    module_stats = [_module_stats_out(b, stats.get(b.id)) for b in modules]
    return CourseReportOut(
        slug=course.slug,
        title=course.title,
        funnel=_funnel(session, course, modules, final, stats),
        modules=module_stats,
        final_exam=_module_stats_out(final, stats.get(final.id)) if final else None,
        items=item_analysis(session, course, banks),
        evaluation=evaluation_results(session, course),
        status_counts=status_counts(session, course),
    )


@dataclass
class _BankStats:
    learners: int = 0
    submitted: int = 0
    first_attempts: int = 0
    first_passed: int = 0
    passed: int = 0
    median_seconds: float | None = None


def _sum_int(column: Any) -> ColumnElement[int]:
    """Sum over a summary's shards, as an int (PostgreSQL sums bigints as numeric)."""
    return cast(func.sum(column), BigInteger)


def _bank_stats(session: Session, bank_ids: Sequence[int]) -> dict[int, _BankStats]:
    """Per quiz, from the totals kept at submission (app.analytics.summaries)."""
    if not bank_ids:
        return {}
    t = BankTotals
    rows = session.execute(
        sql_select(
            col(t.bank_id),
            *(
                _sum_int(col(c))
                for c in (t.learners, t.submitted, t.first_attempts, t.first_passed, t.passed)
            ),
        )
        .where(col(t.bank_id).in_(bank_ids))
        .group_by(col(t.bank_id))
    ).all()
    stats = {bank_id: _BankStats(*figures) for bank_id, *figures in rows}
    for bank_id, s in stats.items():
        s.median_seconds = _median_seconds_to_pass(session, bank_id, s.passed)
    return stats


def _median_seconds_to_pass(session: Session, bank_id: int, passed: int) -> float | None:
    """The median over the ``passed`` learners of first start to first passing submission:
    the middle one or two values read by position from the (bank, seconds) index."""
    if passed <= 0:
        return None
    s = LearnerBankSummary
    middle = session.exec(
        select(s.seconds_to_pass)
        .where(s.bank_id == bank_id, col(s.seconds_to_pass).is_not(None))
        .order_by(col(s.seconds_to_pass))
        .offset((passed - 1) // 2)
        .limit(2 - passed % 2)
    ).all()
    values = [float(v) for v in middle if v is not None]
    return statistics.median(values) if values else None


def _module_stats_out(bank: _Bank, stats: _BankStats | None) -> ModuleStatsOut:
    s = stats or _BankStats()
    return ModuleStatsOut(
        slug=bank.module_slug or FINAL,
        title=bank.title,
        bank_key=bank.key,
        learners=s.learners,
        first_attempts=s.first_attempts,
        first_attempt_pass_rate=s.first_passed / s.first_attempts if s.first_attempts else None,
        mean_attempts=s.submitted / s.learners if s.learners else None,
        passed=s.passed,
        median_seconds_to_pass=s.median_seconds,
    )


def _funnel(
    session: Session,
    course: Course,
    modules: list[_Bank],
    final: _Bank | None,
    stats: dict[int, _BankStats],
) -> list[FunnelStepOut]:
    enrolled = session.exec(
        select(func.count()).select_from(Enrollment).where(Enrollment.course_id == course.id)
    ).one()
    certified = session.exec(
        select(func.count(distinct(col(Certificate.user_id)))).where(
            col(Certificate.course_id) == course.id,
            col(Certificate.revoked_at).is_(None),
            col(Certificate.superseded_by_id).is_(None),
        )
    ).one()
    steps = [FunnelStepOut(key="enrolled", label="Enrolled", count=int(enrolled))]
    for bank in modules:
        passed = stats[bank.id].passed if bank.id in stats else 0
        steps.append(FunnelStepOut(key=bank.key, label=f"Passed: {bank.title}", count=passed))
    if final is not None:
        passed = stats[final.id].passed if final.id in stats else 0
        steps.append(FunnelStepOut(key=FINAL, label="Passed the final exam", count=passed))
    steps.append(FunnelStepOut(key="certificate", label="Certificate", count=int(certified)))
    return steps


# --- item analysis -----------------------------------------------------------------------------


def item_analysis(session: Session, course: Course, banks: Sequence[Any]) -> list[ItemStatsOut]:
    """Difficulty, point-biserial discrimination and option choices of every question, per
    quiz version, over all submitted attempts (every attempt counts, not only the last)."""
    bank_keys = {b.id: b.key for b in banks}
    if not bank_keys:
        return []
    versions = session.exec(
        select(QuizVersion.id, QuizVersion.bank_id, QuizVersion.version, QuizVersion.questions)
        .where(col(QuizVersion.bank_id).in_(list(bank_keys)))
        .order_by(col(QuizVersion.bank_id), col(QuizVersion.version))
    ).all()
    current = set(
        session.exec(
            select(QuizBank.current_version_id).where(col(QuizBank.id).in_(list(bank_keys)))
        )
    )
    analysis = ItemAnalysis()
    version_info: dict[int, tuple[int, int]] = {}
    for version_id, bank_id, number, questions in versions:
        assert version_id is not None  # noqa: S101
        version_info[version_id] = (bank_id, number)
        analysis.add_version(version_id, questions)
    for version_id, question_id, chosen, sums in _item_sums(session, list(bank_keys)):
        analysis.add_group(version_id, question_id, chosen, sums)
    bank_order = {b.id: i for i, b in enumerate(banks)}
    out = []
    for (version_id, question_id), item in analysis.items.items():
        bank_id, number = version_info.get(version_id, (0, 0))
        if not item.responses and version_id not in current:
            continue  # an old version nobody answered says nothing
        key = bank_keys.get(bank_id, "")
        out.append(
            (
                bank_order.get(bank_id, len(bank_order)),
                -number,
                ItemStatsOut(
                    bank_key=key,
                    quiz_version_id=version_id,
                    quiz_version=number,
                    question_id=question_id,
                    prompt=item.prompt,
                    type=item.type,
                    responses=item.responses,
                    difficulty=item.difficulty,
                    discrimination=item.discrimination,
                    options=[
                        OptionStatsOut(
                            text=o.text,
                            is_correct=o.is_correct,
                            chosen=o.chosen,
                            is_never_chosen=o.chosen == 0 and item.responses > 0,
                        )
                        for o in item.options.values()
                    ],
                    flags=item.flags(),
                    edit_url=f"/studio/courses/{course.slug}/quizzes/{key}#q-{question_id}",
                ),
            )
        )
    out.sort(key=lambda t: (t[0], t[1]))
    return [t[2] for t in out]


def _item_sums(
    session: Session, bank_ids: Sequence[int]
) -> Iterator[tuple[int, str, str | None, ItemSums]]:
    """The item groups kept at submission: per (version, question, attempt size, options
    chosen), the count, the number right and exact integer sums for the rest score."""
    g = ItemGroupSums
    keys = (col(g.quiz_version_id), col(g.question_id), col(g.item_count), col(g.chosen))
    sums = [_sum_int(getattr(g, name)).label(name) for name in summaries.ITEM_SUMS]
    rows = session.execute(
        sql_select(*keys, *sums)
        .where(col(g.bank_id).in_(bank_ids))
        .group_by(*keys)  # over the shards
        .order_by(*keys)
    )
    for row in rows:
        yield (
            row.quiz_version_id,
            row.question_id,
            row.chosen or None,
            ItemSums(
                responses=row.responses,
                correct=row.correct,
                item_count=row.item_count,
                rest=row.rest,
                rest_x=row.rest_x,
                rest_sq=row.rest_sq,
            ),
        )


# --- evaluation --------------------------------------------------------------------------------


UNPARSED = "unparsed"


def evaluation_results(session: Session, course: Course) -> EvaluationStatsOut:
    """Per likert question the 1-5 distribution and mean; text answers, newest first. The
    counts come from analytics_evaluation_count (kept by triggers on every write); only the
    newest responses are read, for the text answers shown."""
    questions = list(course.evaluation)
    likert = {q["id"]: [0, 0, 0, 0, 0] for q in questions if q.get("type") == "likert"}
    texts: dict[str, list[str]] = {q["id"]: [] for q in questions if q.get("type") != "likert"}
    text_totals = dict.fromkeys(texts, 0)
    r = EvaluationResponse
    responses = session.execute(
        sql_select(func.count()).select_from(r).where(col(r.course_id) == course.id)
    ).scalar_one()
    stored = session.exec(
        select(EvaluationCount.question_id, EvaluationCount.kind, EvaluationCount.n).where(
            EvaluationCount.course_id == course.id
        )
    ).all()
    if any(kind == UNPARSED and n for _, kind, n in stored):
        # A response PostgreSQL's JSON functions cannot read: count them all here instead.
        _count_by_reading(session, course, likert, text_totals)
    else:
        for question_id, kind, n in stored:
            if question_id in likert and kind in RATINGS:
                likert[question_id][int(kind) - 1] += n
            elif question_id in text_totals and kind == "text":
                text_totals[question_id] += n
    _newest_texts(session, course, texts, text_totals)
    prompts = {q["id"]: str(q.get("prompt", "")) for q in questions}
    likert_out = []
    for qid, counts in likert.items():
        n = sum(counts)
        mean = sum((i + 1) * c for i, c in enumerate(counts)) / n if n else None
        likert_out.append(
            LikertStatsOut(
                question_id=qid, prompt=prompts[qid], counts=counts, responses=n, mean=mean
            )
        )
    return EvaluationStatsOut(
        responses=responses,
        likert=likert_out,
        text=[
            TextAnswersOut(question_id=q, prompt=prompts[q], total=text_totals[q], answers=a)
            for q, a in texts.items()
        ],
    )


RATINGS = ("1", "2", "3", "4", "5")


def _count_by_reading(
    session: Session, course: Course, likert: dict[str, list[int]], totals: dict[str, int]
) -> None:
    """The counts the triggers keep, taken from every response (the definition they follow)."""
    rows = session.exec(
        select(EvaluationResponse.answers)
        .where(col(EvaluationResponse.course_id) == course.id)
        .execution_options(yield_per=STREAM_BATCH)
    )
    for answers in rows:
        for qid, value in (answers if isinstance(answers, dict) else {}).items():
            kind = summaries.evaluation_kind(value)
            if qid in likert and kind in RATINGS:
                likert[qid][int(kind) - 1] += 1
            elif qid in totals and kind == "text":
                totals[qid] += 1


def _newest_texts(
    session: Session, course: Course, texts: dict[str, list[str]], totals: dict[str, int]
) -> None:
    """Fills ``texts`` with each question's newest non-blank answers (stripped), reading
    responses newest first in growing batches until every question has what it can show."""
    wanted = {q: min(n, TEXT_ANSWERS_SHOWN) for q, n in totals.items()}
    r = EvaluationResponse
    offset, batch = 0, TEXT_ANSWERS_SHOWN * 4
    while any(len(texts[q]) < n for q, n in wanted.items()):
        rows = session.exec(
            select(r.answers)
            .where(col(r.course_id) == course.id)
            .order_by(col(r.submitted_at).desc(), col(r.id).desc())
            .offset(offset)
            .limit(batch)
        ).all()
        for answers in rows:
            for qid, value in (answers or {}).items():
                shown = texts.get(qid)
                full = shown is None or len(shown) >= TEXT_ANSWERS_SHOWN
                if not full and isinstance(value, str) and value.strip():
                    texts[qid].append(value.strip())
        if len(rows) < batch:
            break
        offset, batch = offset + batch, batch * 4


# --- learners ----------------------------------------------------------------------------------


def _learner_query(
    session: Session, course: Course, users: Sequence[int] | None = None
) -> tuple[Select[Any], ColumnElement[str], int]:
    """One row per enrolled learner with progress columns and a computed status, from the
    per-learner quiz summaries; ``users`` (user ids) narrows every part of it."""
    modules, final = _banks(session, course)
    module_ids = [b.id for b in modules]
    final_ids = [final.id] if final else []
    lb = LearnerBankSummary
    passed = col(lb.first_passed_at).is_not(None)

    def only(column: Any) -> list[ColumnElement[bool]]:
        return [] if users is None else [col(column).in_(users)]

    attempts = (
        sql_select(
            col(lb.user_id).label("user_id"),
            func.sum(case((and_(passed, col(lb.bank_id).in_(module_ids)), 1), else_=0)).label(
                "modules_passed"
            ),
            func.max(case((and_(passed, col(lb.bank_id).in_(final_ids)), 1), else_=0)).label(
                "final_passed"
            ),
            func.sum(col(lb.attempts)).label("attempts"),
            func.max(col(lb.last_submitted_at)).label("last_at"),
        )
        .where(col(lb.bank_id).in_(module_ids + final_ids), *only(lb.user_id))
        .group_by(col(lb.user_id))
        .subquery()
    )
    evaluated = (
        sql_select(col(EvaluationResponse.user_id).label("user_id"))
        .where(col(EvaluationResponse.course_id) == course.id, *only(EvaluationResponse.user_id))
        .subquery()
    )
    certified = (
        sql_select(
            col(Certificate.user_id).label("user_id"), func.max(col(Certificate.code)).label("code")
        )
        .where(
            col(Certificate.course_id) == course.id,
            col(Certificate.revoked_at).is_(None),
            col(Certificate.superseded_by_id).is_(None),
            *only(Certificate.user_id),
        )
        .group_by(col(Certificate.user_id))
        .subquery()
    )
    attempts_n = func.coalesce(attempts.c.attempts, 0)
    status = case(
        (certified.c.code.is_not(None), literal(CERTIFIED)),
        (func.coalesce(attempts.c.final_passed, 0) == 1, literal(FINAL_PASSED)),
        (attempts_n > 0, literal(IN_PROGRESS)),
        else_=literal(NOT_STARTED),
    )
    stmt = (
        sql_select(
            col(User.id),
            col(User.full_name),
            col(User.email),
            col(Enrollment.enrolled_at),
            func.coalesce(attempts.c.modules_passed, 0),
            func.coalesce(attempts.c.final_passed, 0),
            evaluated.c.user_id.is_not(None),
            certified.c.code,
            attempts_n,
            attempts.c.last_at,
            status.label("status"),
        )
        .join(User, col(User.id) == Enrollment.user_id)
        .outerjoin(attempts, attempts.c.user_id == Enrollment.user_id)
        .outerjoin(evaluated, evaluated.c.user_id == Enrollment.user_id)
        .outerjoin(certified, certified.c.user_id == Enrollment.user_id)
        .where(col(Enrollment.course_id) == course.id, *only(Enrollment.user_id))
    )
    return stmt, status, len(modules)


def _check_status(status: str) -> None:
    if status and status not in LEARNER_STATUSES:
        raise UnknownLearnerStatus(
            f"unknown status {status!r}; use one of: " + ", ".join(LEARNER_STATUSES)
        )


def _name_filter(stmt: Select[Any], query: str) -> Select[Any]:
    query = query.strip().lower()[:100]
    if query:
        pattern = f"%{query}%"
        stmt = stmt.where(
            or_(func.lower(User.full_name).like(pattern), func.lower(User.email).like(pattern))
        )
    return stmt


def _filtered(
    session: Session, course: Course, status: str, query: str, users: Sequence[int] | None = None
) -> tuple[Select[Any], int]:
    _check_status(status)
    stmt, status_expr, modules_total = _learner_query(session, course, users)
    if status:
        stmt = stmt.where(status_expr == status)
    return _name_filter(stmt, query), modules_total


def _row_out(row: Sequence[Any], modules_total: int) -> LearnerRowOut:
    user_id, name, email, enrolled_at, passed, final, evaluated, code, n, last_at, status = row
    steps = modules_total + 2
    done = int(passed) + int(bool(final)) + int(bool(evaluated))
    return LearnerRowOut(
        user_id=user_id,
        full_name=name,
        email=email,
        enrolled_at=as_utc(enrolled_at).isoformat(),
        modules_passed=int(passed),
        modules_total=modules_total,
        final_passed=bool(final),
        evaluation_submitted=bool(evaluated),
        certificate_code=code,
        attempts=int(n),
        last_activity_at=_iso(last_at),
        progress_percent=round(100 * done / steps),
        status=str(status),
    )


def _iso(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns max() of a datetime column as text
        value = datetime.fromisoformat(value)
    return as_utc(value).isoformat()


def _status_of_enrolled(session: Session, course: Course) -> ColumnElement[str]:
    """A learner's status as a CASE over EXISTS probes of the summaries' primary keys,
    correlated to Enrollment.user_id: no per-learner aggregation, so counting or filtering
    every learner stays a few index look-ups each."""
    modules, final = _banks(session, course)
    lb = LearnerBankSummary
    learner = col(Enrollment.user_id)
    certified = exists().where(
        col(Certificate.user_id) == learner,
        col(Certificate.course_id) == course.id,
        col(Certificate.revoked_at).is_(None),
        col(Certificate.superseded_by_id).is_(None),
    )
    final_passed = (
        exists().where(
            col(lb.user_id) == learner,
            col(lb.bank_id) == final.id,
            # Set exactly when first_passed_at is, and in the (bank, seconds) index.
            col(lb.seconds_to_pass).is_not(None),
        )
        if final is not None
        else literal(False)
    )
    started = exists().where(
        col(lb.user_id) == learner,
        col(lb.bank_id).in_([b.id for b in [*modules, *([final] if final else [])]]),
    )
    return case(
        (certified, literal(CERTIFIED)),
        (final_passed, literal(FINAL_PASSED)),
        (started, literal(IN_PROGRESS)),
        else_=literal(NOT_STARTED),
    )


def learners(
    session: Session,
    course: Course,
    *,
    status: str = "",
    query: str = "",
    page: int = 1,
    per_page: int = 50,
) -> LearnerPageOut:
    """One page of enrolled learners, filtered by status and name/email; raises Invalid."""
    _check_status(status)
    _without_jit(session)
    page = max(page, 1)
    order = (col(User.full_name), col(User.id))
    # The page is chosen first (enrolment, name, status), then only its learners' progress is
    # read: the cost does not grow with how many attempts the course has seen.
    enrolled = _name_filter(
        sql_select(col(Enrollment.user_id))
        .join(User, col(User.id) == Enrollment.user_id)
        .where(col(Enrollment.course_id) == course.id),
        query,
    )
    if status:
        enrolled = enrolled.where(_status_of_enrolled(session, course) == status)
    counted = enrolled
    if not status and not query.strip():  # every enrolment has its user (foreign key)
        counted = sql_select(col(Enrollment.user_id)).where(col(Enrollment.course_id) == course.id)
    total = session.execute(sql_select(func.count()).select_from(counted.subquery())).scalar_one()
    page_ids = [
        int(uid)
        for uid in session.execute(
            enrolled.order_by(*order).offset((page - 1) * per_page).limit(per_page)
        ).scalars()
    ]
    stmt, modules_total = _filtered(session, course, "", "", page_ids)
    rows = session.execute(stmt.order_by(*order)).all()
    return LearnerPageOut(
        rows=[_row_out(r, modules_total) for r in rows],
        total=int(total),
        page=page,
        per_page=per_page,
        status=status,
        query=query,
    )


def iter_learners(
    session: Session, course: Course, *, status: str = "", query: str = ""
) -> Iterator[LearnerRowOut]:
    """Every matching learner (for CSV export), streamed; raises Invalid on a bad status."""
    _without_jit(session)
    stmt, modules_total = _filtered(session, course, status, query)
    rows = session.execute(
        stmt.order_by(col(User.full_name), col(User.id)).execution_options(yield_per=STREAM_BATCH)
    )
    for row in rows:
        yield _row_out(row, modules_total)


def _cell(text: str) -> str:
    # Spreadsheets run cells starting with these as formulas; a learner chooses their own name.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def learner_csv_row(row: LearnerRowOut) -> list[str]:
    """A learner as CSV cells, in CSV_COLUMNS order."""
    return [
        _cell(row.full_name),
        _cell(row.email),
        row.enrolled_at,
        row.status,
        str(row.progress_percent),
        str(row.modules_passed),
        str(row.modules_total),
        "yes" if row.final_passed else "no",
        "yes" if row.evaluation_submitted else "no",
        row.certificate_code or "",
        str(row.attempts),
        row.last_activity_at or "",
    ]


def status_counts(session: Session, course: Course) -> dict[str, int]:
    """Enrolled learners per status; every status present, zero when none."""
    _without_jit(session)
    per_learner = (
        sql_select(_status_of_enrolled(session, course).label("status"))
        .where(col(Enrollment.course_id) == course.id)
        .subquery()
    )
    rows = session.execute(
        sql_select(per_learner.c.status, func.count()).group_by(per_learner.c.status)
    ).all()
    counts = dict.fromkeys(LEARNER_STATUSES, 0)
    counts.update({str(s): int(n) for s, n in rows})
    return counts
