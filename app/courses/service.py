"""Courses: catalog, course progress and gating, enrolment, reading modules."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, func, select

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.certificates import service as certificates
from app.core.fastread import PreparedRead, need
from app.courses.errors import CourseNotFound, ModuleLocked, ModuleNotFound, NotEnrolled
from app.courses.models import Course, CourseStatus, Enrollment, Module, ModuleVersion, ModuleVisit
from app.quizzes import service as quizzes
from app.quizzes.models import QuizAttempt, QuizBank

LOCKED, AVAILABLE, PASSED, SUBMITTED = "locked", "available", "passed", "submitted"
# A page view counts toward time-on-module only up to this gap (a tab left open is not study).
MAX_VISIT_GAP_SECONDS = 15 * 60
# Reading position and time are written at most this often per learner and module.
NOTE_EVERY_SECONDS = 60


@dataclass
class ModuleState:
    module: Module
    version: ModuleVersion  # loaded without its html/source (see active_modules)
    state: str
    missing: list[str] = field(default_factory=list)  # prerequisite titles not yet passed
    html: str = ""  # filled in by read_module only


@dataclass
class CourseProgress:
    course: Course
    enrollment: Enrollment | None
    modules: list[ModuleState]
    final_exam_state: str
    evaluation_state: str
    certificate_code: str | None

    @property
    def passed_count(self) -> int:
        return sum(m.state == PASSED for m in self.modules)

    @property
    def percent(self) -> int:
        steps = len(self.modules) + 2  # modules, final exam, evaluation
        done = (
            self.passed_count
            + (self.final_exam_state == PASSED)
            + (self.evaluation_state == SUBMITTED)
        )
        return round(100 * done / steps) if steps else 0

    @property
    def next_step(self) -> ModuleState | None:
        """Where to continue: the last module read if still unpassed, else the first open one."""
        if self.enrollment and self.enrollment.last_module_id:
            for m in self.modules:
                if m.module.id == self.enrollment.last_module_id and m.state == AVAILABLE:
                    return m
        return next((m for m in self.modules if m.state == AVAILABLE), None)

    def requirements_missing(self) -> list[str]:
        missing = [f"pass module: {m.version.title}" for m in self.modules if m.state != PASSED]
        if self.final_exam_state != PASSED:
            missing.append("pass the final exam")
        if self.evaluation_state != SUBMITTED:
            missing.append("submit the course evaluation")
        return missing


def is_staff(user: User | None) -> bool:
    return user is not None and user.role in (Role.instructor, Role.admin)


def list_published(session: Session, query: str = "") -> list[tuple[Course, int]]:
    """Published courses (optionally matching title or summary) with their module counts."""
    counts = (
        select(Module.course_id, func.count().label("n"))
        .where(col(Module.is_active))
        .group_by(col(Module.course_id))
        .subquery()
    )
    stmt = (
        select(Course, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.course_id == Course.id)
        .where(Course.status == CourseStatus.published)
        .order_by(col(Course.title))
    )
    query = query.strip()[:100]
    if query:
        pattern = f"%{query.lower()}%"
        stmt = stmt.where(
            or_(func.lower(Course.title).like(pattern), func.lower(Course.summary).like(pattern))
        )
    return [(c, int(n)) for c, n in session.exec(stmt)]


def get_course(session: Session, slug: str, *, viewer: User | None) -> Course:
    """A course visible to the viewer; drafts only to staff. Raises CourseNotFound."""
    course = session.exec(select(Course).where(Course.slug == slug)).first()
    if course is None or (course.status != CourseStatus.published and not is_staff(viewer)):
        raise CourseNotFound(f"no course {slug!r}")
    return course


def find_enrollment(session: Session, user: User, course: Course) -> Enrollment | None:
    return session.exec(
        select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.course_id == course.id)
    ).first()


def enroll(
    session: Session, user: User, course: Course, *, now: datetime
) -> tuple[Enrollment, bool]:
    """Enrols once; returns (enrollment, created). Safe against double clicks and races."""
    existing = find_enrollment(session, user, course)
    if existing is not None:
        return existing, False
    assert user.id is not None and course.id is not None  # noqa: S101
    enrollment = Enrollment(user_id=user.id, course_id=course.id, enrolled_at=now)
    try:
        with session.begin_nested():
            session.add(enrollment)
    except IntegrityError:
        found = find_enrollment(session, user, course)
        assert found is not None  # noqa: S101
        return found, False
    return enrollment, True


# Course structure changes only through an import, which changes the course's version, hash
# and updated_at; so it is cached per process under that key (several processes stay correct).
_STRUCTURE_CACHE: dict[tuple[int, int, str, str], list[tuple[Module, ModuleVersion]]] = {}


def active_modules(session: Session, course: Course) -> list[tuple[Module, ModuleVersion]]:
    """The course's modules in order with their current versions (without html/source)."""
    assert course.id is not None  # noqa: S101
    key = (course.id, course.version, course.content_hash, course.updated_at.isoformat())
    cached = _STRUCTURE_CACHE.get(key)
    if cached is None:
        with _detached_loader(session) as loader:
            cached = _load_active_modules(loader, course)
        if len(_STRUCTURE_CACHE) > 256:
            _STRUCTURE_CACHE.clear()
        _STRUCTURE_CACHE[key] = cached
    return cached


def _detached_loader(session: Session) -> Session:
    """A Session on the caller's connection and transaction with its own identity map: what
    it loads is cached per process (shared, read only) without detaching the caller's objects."""
    return Session(bind=session.connection(), expire_on_commit=False)


def _load_active_modules(session: Session, course: Course) -> list[tuple[Module, ModuleVersion]]:
    # The rendered HTML and source of every module are large and only one is ever shown.
    rows = session.exec(
        select(Module, ModuleVersion)
        .join(ModuleVersion, col(ModuleVersion.id) == Module.current_version_id)
        .where(Module.course_id == course.id, col(Module.is_active))
        .order_by(col(Module.position))
        .options(defer(ModuleVersion.html), defer(ModuleVersion.source))  # type: ignore[arg-type]
    )
    return [(m, v) for m, v in rows]


def progress(session: Session, user: User | None, course: Course) -> CourseProgress:
    """Every module's state for this learner, from passed attempts (never from the client)."""
    modules = active_modules(session, course)
    enrollment = find_enrollment(session, user, course) if user else None
    passed = quizzes.passed_bank_keys(session, user, course) if user else set()
    states = _module_states(modules, passed, is_enrolled=enrollment is not None)
    all_passed = all(s.state == PASSED for s in states)
    if "final" in passed:
        final_state = PASSED
    else:
        final_state = AVAILABLE if all_passed and enrollment is not None else LOCKED
    if user is not None and quizzes.has_evaluation(session, user, course):
        evaluation_state = SUBMITTED
    else:
        evaluation_state = AVAILABLE if final_state == PASSED else LOCKED
    return CourseProgress(
        course=course,
        enrollment=enrollment,
        modules=states,
        final_exam_state=final_state,
        evaluation_state=evaluation_state,
        certificate_code=_certificate_code(session, user, course),
    )


def _module_states(
    modules: list[tuple[Module, ModuleVersion]], passed: set[str], *, is_enrolled: bool
) -> list[ModuleState]:
    """The gating rule: passed from passed attempts; otherwise locked until every prerequisite
    is passed (and for anyone not enrolled), else available."""
    titles = {m.slug: v.title for m, v in modules}
    states: list[ModuleState] = []
    for module, version in modules:
        if module.slug in passed:
            state, missing = PASSED, []
        else:
            missing = [titles.get(p, p) for p in module.prerequisites if p not in passed]
            state = LOCKED if missing or not is_enrolled else AVAILABLE
        states.append(ModuleState(module=module, version=version, state=state, missing=missing))
    return states


def _certificate_code(session: Session, user: User | None, course: Course) -> str | None:
    if user is None:
        return None
    active = certificates.find_active(session, user, course)
    return active.code if active else None


def module_state(progress_: CourseProgress, module_slug: str) -> ModuleState:
    for state in progress_.modules:
        if state.module.slug == module_slug:
            return state
    raise ModuleNotFound(f"no module {module_slug!r} in this course")


def require_module_open(
    progress_: CourseProgress, module_slug: str, *, viewer: User
) -> ModuleState:
    """The module if the learner may open it; raises NotEnrolled or ModuleLocked with next steps."""
    state = module_state(progress_, module_slug)
    _require_open(
        progress_.course,
        state,
        as_staff=is_staff(viewer),
        is_enrolled=progress_.enrollment is not None,
    )
    return state


def _require_open(course: Course, state: ModuleState, *, as_staff: bool, is_enrolled: bool) -> None:
    if as_staff:
        return
    if not is_enrolled:
        raise NotEnrolled("enrol in the course first", next=f"/courses/{course.slug}")
    if state.state == LOCKED:
        raise ModuleLocked(
            "this module is locked: first pass " + ", ".join(state.missing),
            missing=state.missing,
        )


@dataclass
class ReadingNote:
    """What a module view should write, decided from what the view already read."""

    enrollment_id: int
    module_id: int
    user_id: int
    visit_id: int | None
    visit_last_seen: datetime | None
    add_seconds: int


def read_module(
    session: Session, user: User, course: Course, module_slug: str, *, now: datetime
) -> tuple[CourseProgress, ModuleState, ReadingNote | None]:
    """Opens a module for reading (gated); reads only. The returned note, when not None, is
    what save_reading should write: views closer together than NOTE_EVERY_SECONDS write
    nothing, so reading stays a read-only request almost always."""
    progress_ = progress(session, user, course)
    state = require_module_open(progress_, module_slug, viewer=user)
    html = session.exec(
        select(ModuleVersion.html).where(ModuleVersion.id == state.version.id)
    ).one()
    state.html = html
    enrollment = progress_.enrollment
    if enrollment is None or enrollment.id is None:
        return progress_, state, None
    assert user.id is not None and state.module.id is not None  # noqa: S101
    visit = session.exec(
        select(ModuleVisit).where(
            ModuleVisit.user_id == user.id, ModuleVisit.module_id == state.module.id
        )
    ).first()
    note = _reading_note(
        user.id,
        state.module.id,
        enrollment_id=enrollment.id,
        last_module_id=enrollment.last_module_id,
        last_seen_at=enrollment.last_seen_at,
        visit_id=visit.id if visit else None,
        visit_last_seen=visit.last_seen_at if visit else None,
        now=now,
    )
    return progress_, state, note


def _reading_note(
    user_id: int,
    module_id: int,
    *,
    enrollment_id: int,
    last_module_id: int | None,
    last_seen_at: datetime | None,
    visit_id: int | None,
    visit_last_seen: datetime | None,
    now: datetime,
) -> ReadingNote | None:
    moved = last_module_id != module_id
    stale = last_seen_at is None or (now - last_seen_at).total_seconds() >= NOTE_EVERY_SECONDS
    gap = int((now - visit_last_seen).total_seconds()) if visit_last_seen is not None else 0
    if not (moved or stale or visit_id is None or gap >= NOTE_EVERY_SECONDS):
        return None
    return ReadingNote(
        enrollment_id=enrollment_id,
        module_id=module_id,
        user_id=user_id,
        visit_id=visit_id,
        visit_last_seen=visit_last_seen,
        add_seconds=gap if 0 < gap <= MAX_VISIT_GAP_SECONDS else 0,
    )


def save_reading(session: Session, note: ReadingNote, *, now: datetime) -> None:
    """Remembers the place to continue and adds time on the module. Conditional writes only
    (no read first), so on SQLite this short transaction never has to upgrade a read lock."""
    session.execute(
        update(Enrollment)
        .where(col(Enrollment.id) == note.enrollment_id)
        .values(last_module_id=note.module_id, last_seen_at=now)
    )
    if note.visit_id is None:
        try:
            with session.begin_nested():
                session.add(
                    ModuleVisit(
                        user_id=note.user_id,
                        module_id=note.module_id,
                        first_seen_at=now,
                        last_seen_at=now,
                    )
                )
        except IntegrityError:
            pass  # a parallel view recorded it first
        return
    # Only if no other view moved last_seen_at meanwhile: time is never counted twice.
    session.execute(
        update(ModuleVisit)
        .where(
            col(ModuleVisit.id) == note.visit_id,
            col(ModuleVisit.last_seen_at) == note.visit_last_seen,
        )
        .values(seconds_on_page=ModuleVisit.seconds_on_page + note.add_seconds, last_seen_at=now)
    )


# --- the module reader (the most requested page) -------------------------------------------


@dataclass(frozen=True)
class ModuleView:
    """What the module reader shows a learner, and what the view should write (see read_module).
    course, modules and state are shared between requests (per-process caches): read only."""

    course: Course
    modules: list[ModuleState]
    state: ModuleState
    html: str
    note: ReadingNote | None
    # Everything the page depends on besides the viewer: the course's content version (content
    # is immutable per version), this module, and every module's state for this learner.
    cache_key: tuple[object, ...]


# The module reader's one statement: the browser session's user (accounts.signed_in_select,
# the sign-in check), then this learner's part of the page: the course's identity and content
# version (the structure itself comes from the per-process caches), the enrollment, the passed
# banks and the visit of this module. The passed keys are the rule of quizzes.passed_bank_keys
# (a bank is passed once any attempt passed it); tests/courses/test_service.py checks that
# both agree.
_PASSED_KEYS = (
    sa_select(func.aggregate_strings(col(QuizBank.key), ","))
    .select_from(QuizAttempt)
    .join(QuizBank, col(QuizBank.id) == QuizAttempt.bank_id)
    .where(
        col(QuizBank.course_id) == Course.id,
        col(QuizAttempt.user_id) == User.id,
        col(QuizAttempt.is_passed).is_(True),
    )
    .scalar_subquery()
)
_OPEN_MODULE = PreparedRead(
    accounts.signed_in_select()
    .add_columns(
        col(Course.id),
        col(Course.status),
        col(Course.version),
        col(Course.content_hash),
        col(Course.updated_at),
        col(Enrollment.id),
        col(Enrollment.last_module_id),
        col(Enrollment.last_seen_at),
        col(ModuleVisit.id),
        col(ModuleVisit.last_seen_at),
        _PASSED_KEYS,
    )
    .outerjoin(Course, col(Course.slug) == bindparam("slug"))
    .outerjoin(
        Enrollment,
        and_(col(Enrollment.course_id) == Course.id, col(Enrollment.user_id) == User.id),
    )
    .outerjoin(
        Module,
        and_(
            col(Module.course_id) == Course.id,
            col(Module.slug) == bindparam("module"),
            col(Module.is_active),
        ),
    )
    .outerjoin(
        ModuleVisit,
        and_(col(ModuleVisit.module_id) == Module.id, col(ModuleVisit.user_id) == User.id),
    )
)
_CourseKey = tuple[int, int, str, str]
# Per process, by content version (see _STRUCTURE_CACHE): detached courses; module states by
# (version, passed banks, enrolled), shared read only; module HTML by version row (a
# ModuleVersion is never updated: new content is a new row).
_COURSE_CACHE: dict[_CourseKey, Course] = {}
_STATES_CACHE: dict[tuple[_CourseKey, frozenset[str], bool], list[ModuleState]] = {}
_HTML_CACHE: dict[tuple[int, str], str] = {}


def _course_key(course: Course) -> _CourseKey:
    assert course.id is not None  # noqa: S101
    return (course.id, course.version, course.content_hash, course.updated_at.isoformat())


def open_module(
    session: Session,
    token: str | None,
    slug: str,
    module_slug: str,
    *,
    now: datetime,
    admit: Callable[[accounts.SignedIn | None], accounts.SignedIn],
) -> tuple[accounts.SignedIn, ModuleView]:
    """The module reader in one statement: the browser session's user (token: the session
    cookie), whom admit() lets in or refuses (deps.admit_reader: web_user's rules), then
    get_course + read_module's rules and errors (CourseNotFound, ModuleNotFound, NotEnrolled,
    ModuleLocked) with per-process caches of versioned content. Reads only; the note is for
    save_reading. Async routes split it: open_module_read, then finish_open_module."""
    read = open_module_read(token, slug, module_slug, now=now)
    row = None if read is None else read[0].first(session, read[1])
    return finish_open_module(session, row, slug, module_slug, now=now, admit=admit)


def open_module_read(
    token: str | None, slug: str, module_slug: str, *, now: datetime
) -> tuple[PreparedRead, dict[str, object]] | None:
    """open_module's one statement and its parameters; None without a session cookie."""
    if not token:
        return None
    params = {**accounts.signed_in_params(token, now=now), "slug": slug, "module": module_slug}
    return _OPEN_MODULE, params


def finish_open_module(
    session: Session | None,
    row: tuple[Any, ...] | None,
    slug: str,
    module_slug: str,
    *,
    now: datetime,
    admit: Callable[[accounts.SignedIn | None], accounts.SignedIn],
) -> tuple[accounts.SignedIn, ModuleView]:
    """open_module after its statement (row). Given no session it uses only the per-process
    caches and raises fastread.NeedsDatabase when it needs more: call it again with one."""
    reader = admit(None if row is None else accounts.signed_in_from(row))
    assert row is not None  # noqa: S101 (admit refuses a missing session)
    view = _module_view(session, reader, _Reading(*row[4:]), slug, module_slug, now=now)
    return reader, view


class _Reading(NamedTuple):
    """_OPEN_MODULE's columns after the signed-in user's (all None: no such course)."""

    course_id: int | None
    status: CourseStatus | None
    version: int
    content_hash: str
    updated_at: datetime
    enrollment_id: int | None
    last_module_id: int | None
    last_seen_at: datetime | None
    visit_id: int | None
    visit_last_seen: datetime | None
    passed_keys: str | None


def _module_view(
    session: Session | None,
    reader: accounts.SignedIn,
    row: _Reading,
    slug: str,
    module_slug: str,
    *,
    now: datetime,
) -> ModuleView:
    as_staff = reader.role in (Role.instructor, Role.admin)
    course_id, enrollment_id = row.course_id, row.enrollment_id
    if course_id is None or (row.status != CourseStatus.published and not as_staff):
        raise CourseNotFound(f"no course {slug!r}")
    key = (course_id, row.version, row.content_hash, row.updated_at.isoformat())
    course = _COURSE_CACHE.get(key)
    if course is None:
        course = _load_course(need(session), course_id)
        key = _course_key(course)
    passed = frozenset(row.passed_keys.split(",")) if row.passed_keys else frozenset()
    is_enrolled = enrollment_id is not None
    modules = _STATES_CACHE.get((key, passed, is_enrolled))
    if modules is None:
        modules = _module_states(
            active_modules(need(session), course), set(passed), is_enrolled=is_enrolled
        )
        if len(_STATES_CACHE) > 1024:
            _STATES_CACHE.clear()
        _STATES_CACHE[(key, passed, is_enrolled)] = modules
    state = next((m for m in modules if m.module.slug == module_slug), None)
    if state is None:
        raise ModuleNotFound(f"no module {module_slug!r} in this course")
    _require_open(course, state, as_staff=as_staff, is_enrolled=is_enrolled)
    note = None
    if enrollment_id is not None:
        assert state.module.id is not None  # noqa: S101
        note = _reading_note(
            reader.user_id,
            state.module.id,
            enrollment_id=enrollment_id,
            last_module_id=row.last_module_id,
            last_seen_at=row.last_seen_at,
            visit_id=row.visit_id,
            visit_last_seen=row.visit_last_seen,
            now=now,
        )
    return ModuleView(
        course=course,
        modules=modules,
        state=state,
        html=_module_html(session, state.version),
        note=note,
        cache_key=(key, state.module.id, *(m.state for m in modules)),
    )


def _load_course(session: Session, course_id: int) -> Course:
    with _detached_loader(session) as loader:
        course = loader.get(Course, course_id)
    if course is None:  # deleted since the statement above (PostgreSQL: read committed)
        raise CourseNotFound("no such course")
    if len(_COURSE_CACHE) > 64:
        _COURSE_CACHE.clear()
    # Under its own key: if an import landed in between, this is already the newer version.
    _COURSE_CACHE[_course_key(course)] = course
    return course


def _module_html(session: Session | None, version: ModuleVersion) -> str:
    assert version.id is not None  # noqa: S101
    key = (version.id, version.content_hash)
    html = _HTML_CACHE.get(key)
    if html is None:
        html = (
            need(session)
            .exec(select(ModuleVersion.html).where(ModuleVersion.id == version.id))
            .one()
        )
        if len(_HTML_CACHE) > 256:
            _HTML_CACHE.clear()
        _HTML_CACHE[key] = html
    return html


def enrolled_courses(session: Session, user: User) -> list[CourseProgress]:
    """The learner's dashboard: every enrolled course with its progress."""
    courses = session.exec(
        select(Course)
        .join(Enrollment, col(Enrollment.course_id) == Course.id)
        .where(Enrollment.user_id == user.id)
        .order_by(col(Enrollment.enrolled_at).desc())
    )
    return [progress(session, user, c) for c in courses]


def due_legal_reviews(course: Course, *, today: datetime) -> list[dict[str, str | int]]:
    """Legal statements whose as-of date is more than 12 months old (for instructors)."""
    limit = (today.date() - timedelta(days=365)).isoformat()
    return [r for r in course.legal_review if str(r["as_of"]) < limit]


def time_on_modules(session: Session, user: User, course: Course) -> dict[str, int]:
    """Seconds the learner spent on each module page (see save_reading)."""
    rows = session.exec(
        select(Module.slug, ModuleVisit.seconds_on_page)
        .join(ModuleVisit, col(ModuleVisit.module_id) == Module.id)
        .where(Module.course_id == course.id, ModuleVisit.user_id == user.id)
    )
    return dict(rows.all())
