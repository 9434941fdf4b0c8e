"""Course analytics for instructors and admins: read-only reports, aggregated in SQL.

Item analysis aggregates the narrow quiz_item_response table (written at grading) and only
reads the quiz versions' JSON; the evaluation streams plain columns (``yield_per``), never ORM
objects, so memory stays flat however many attempts there are.
"""

import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, and_, case, cast, distinct, literal, or_
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, func, select

from app.accounts.models import Role, User
from app.analytics.errors import CourseNotFoundForStaff, UnknownLearnerStatus
from app.analytics.items import ItemAnalysis
from app.analytics.items import Sums as ItemSums
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
    QuizAttempt,
    QuizBank,
    QuizItemResponse,
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


def _bank_stats(session: Session, bank_ids: Sequence[int]) -> dict[int, _BankStats]:
    if not bank_ids:
        return {}
    is_passed = col(QuizAttempt.is_passed).is_(True)
    first = col(QuizAttempt.number) == 1
    rows = session.execute(
        sql_select(
            col(QuizAttempt.bank_id),
            func.count(distinct(col(QuizAttempt.user_id))),
            func.count(),
            func.sum(case((first, 1), else_=0)),
            func.sum(case((and_(first, is_passed), 1), else_=0)),
            func.count(distinct(case((is_passed, col(QuizAttempt.user_id))))),
        )
        .where(col(QuizAttempt.bank_id).in_(bank_ids), col(QuizAttempt.submitted_at).is_not(None))
        .group_by(col(QuizAttempt.bank_id))
    ).all()
    stats = {
        bank_id: _BankStats(int(lr), int(sub), int(fa or 0), int(fp or 0), int(p))
        for bank_id, lr, sub, fa, fp, p in rows
    }
    for bank_id, median in _median_seconds_to_pass(session, bank_ids).items():
        stats.setdefault(bank_id, _BankStats()).median_seconds = median
    return stats


def _median_seconds_to_pass(session: Session, bank_ids: Sequence[int]) -> dict[int, float]:
    """Per bank, the median over learners of first start to first passing submission."""
    is_passed = col(QuizAttempt.is_passed).is_(True)
    per_learner = (
        sql_select(
            col(QuizAttempt.bank_id).label("bank_id"),
            func.min(col(QuizAttempt.started_at)).label("first_start"),
            func.min(case((is_passed, col(QuizAttempt.submitted_at)))).label("first_pass"),
        )
        .where(col(QuizAttempt.bank_id).in_(bank_ids))
        .group_by(col(QuizAttempt.bank_id), col(QuizAttempt.user_id))
        .subquery()
    )
    passed = per_learner.c.first_pass.is_not(None)
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        epoch = func.extract("epoch", per_learner.c.first_pass - per_learner.c.first_start)
        rows = session.execute(
            sql_select(
                per_learner.c.bank_id,
                func.percentile_cont(0.5).within_group(epoch),
            )
            .where(passed)
            .group_by(per_learner.c.bank_id)
        ).all()
        return {int(b): float(m) for b, m in rows if m is not None}
    # SQLite (development and tests): no percentile function, so the median is taken here.
    seconds = (
        func.julianday(per_learner.c.first_pass) - func.julianday(per_learner.c.first_start)
    ) * 86400.0
    values: dict[int, list[float]] = {}
    for bank_id, value in session.execute(sql_select(per_learner.c.bank_id, seconds).where(passed)):
        values.setdefault(int(bank_id), []).append(max(float(value), 0.0))
    return {b: statistics.median(v) for b, v in values.items()}


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
    """One SQL pass over quiz_item_response: per (version, question, options chosen), the
    count, the number right and the sums for Pearson's r of item score x (0/1) with the rest
    score y, the share of the attempt's *other* questions answered correctly."""
    r = QuizItemResponse
    x = case((col(r.is_correct).is_(True), 1.0), else_=0.0)
    has_rest = col(r.item_count) > 1
    # attempt_score is rounded to 4 places; rounding its points to a whole number keeps y exact.
    points = func.round(cast(col(r.attempt_score) * col(r.item_count), Float))
    y = case((has_rest, (points - x) / cast(col(r.item_count) - 1, Float)))
    rows = session.execute(
        sql_select(
            col(r.quiz_version_id),
            col(r.question_id),
            col(r.chosen),
            func.count(),
            func.sum(x),
            func.sum(case((has_rest, 1), else_=0)),
            func.sum(case((has_rest, x))),
            func.sum(y),
            func.sum(x * y),
            func.sum(y * y),
        )
        .where(col(r.bank_id).in_(bank_ids))
        .group_by(col(r.quiz_version_id), col(r.question_id), col(r.chosen))
    )
    for version_id, question_id, chosen, count, correct, n, sx, sy, sxy, syy in rows:
        yield (
            int(version_id),
            str(question_id),
            chosen,
            ItemSums(
                responses=int(count),
                correct=round(float(correct or 0)),
                n=int(n or 0),
                sum_x=float(sx or 0),
                sum_y=float(sy or 0),
                sum_xy=float(sxy or 0),
                sum_yy=float(syy or 0),
            ),
        )


# --- evaluation --------------------------------------------------------------------------------


def evaluation_results(session: Session, course: Course) -> EvaluationStatsOut:
    """Per likert question the 1-5 distribution and mean; text answers, newest first."""
    questions = list(course.evaluation)
    likert = {q["id"]: [0, 0, 0, 0, 0] for q in questions if q.get("type") == "likert"}
    texts: dict[str, list[str]] = {q["id"]: [] for q in questions if q.get("type") != "likert"}
    text_totals = dict.fromkeys(texts, 0)
    responses = 0
    rows = session.exec(
        select(EvaluationResponse.answers)
        .where(col(EvaluationResponse.course_id) == course.id)
        .order_by(col(EvaluationResponse.submitted_at).desc(), col(EvaluationResponse.id).desc())
        .execution_options(yield_per=STREAM_BATCH)
    )
    for answers in rows:
        responses += 1
        for qid, value in (answers or {}).items():
            if qid in likert:
                if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
                    likert[qid][value - 1] += 1
            elif qid in texts and isinstance(value, str) and value.strip():
                text_totals[qid] += 1
                if len(texts[qid]) < TEXT_ANSWERS_SHOWN:
                    texts[qid].append(value.strip())
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


# --- learners ----------------------------------------------------------------------------------


def _learner_query(session: Session, course: Course) -> tuple[Select[Any], ColumnElement[str], int]:
    """One row per enrolled learner with progress columns and a computed status."""
    modules, final = _banks(session, course)
    module_ids = [b.id for b in modules]
    final_ids = [final.id] if final else []
    is_passed = col(QuizAttempt.is_passed).is_(True)
    attempts = (
        sql_select(
            col(QuizAttempt.user_id).label("user_id"),
            func.count(
                distinct(
                    case(
                        (
                            and_(is_passed, col(QuizAttempt.bank_id).in_(module_ids)),
                            col(QuizAttempt.bank_id),
                        )
                    )
                )
            ).label("modules_passed"),
            func.max(
                case((and_(is_passed, col(QuizAttempt.bank_id).in_(final_ids)), 1), else_=0)
            ).label("final_passed"),
            func.count(col(QuizAttempt.submitted_at)).label("attempts"),
            func.max(col(QuizAttempt.submitted_at)).label("last_at"),
        )
        .where(col(QuizAttempt.bank_id).in_(module_ids + final_ids))
        .group_by(col(QuizAttempt.user_id))
        .subquery()
    )
    evaluated = (
        sql_select(col(EvaluationResponse.user_id).label("user_id"))
        .where(col(EvaluationResponse.course_id) == course.id)
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
        .where(col(Enrollment.course_id) == course.id)
    )
    return stmt, status, len(modules)


def _filtered(session: Session, course: Course, status: str, query: str) -> tuple[Select[Any], int]:
    if status and status not in LEARNER_STATUSES:
        raise UnknownLearnerStatus(
            f"unknown status {status!r}; use one of: " + ", ".join(LEARNER_STATUSES)
        )
    stmt, status_expr, modules_total = _learner_query(session, course)
    if status:
        stmt = stmt.where(status_expr == status)
    query = query.strip().lower()[:100]
    if query:
        pattern = f"%{query}%"
        stmt = stmt.where(
            or_(func.lower(User.full_name).like(pattern), func.lower(User.email).like(pattern))
        )
    return stmt, modules_total


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
    stmt, modules_total = _filtered(session, course, status, query)
    total = session.execute(sql_select(func.count()).select_from(stmt.subquery())).scalar_one()
    page = max(page, 1)
    rows = session.execute(
        stmt.order_by(col(User.full_name), col(User.id))
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
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
    stmt, _ = _filtered(session, course, "", "")
    sub = stmt.subquery()
    rows = session.execute(sql_select(sub.c.status, func.count()).group_by(sub.c.status)).all()
    counts = dict.fromkeys(LEARNER_STATUSES, 0)
    counts.update({str(s): int(n) for s, n in rows})
    return counts
