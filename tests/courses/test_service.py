from datetime import timedelta

import pytest

from app.accounts import service as accounts
from app.accounts.models import Role
from app.core.clock import utcnow
from app.core.errors import Unauthenticated
from app.core.fastread import NeedsDatabase
from app.core.settings import Settings
from app.courses import service as courses
from app.courses.errors import CourseNotFound, ModuleLocked, ModuleNotFound, NotEnrolled
from app.courses.models import CourseStatus
from app.quizzes import grading
from app.quizzes import service as quizzes
from tests.content_helpers import KAT, ROOT, answer_key, correct_answers, import_tree
from tests.factories import make_user


@pytest.fixture
def course(session):
    return import_tree(session)[0]


def _admit(found):
    assert found is not None
    return found


def _open(session, user, module, *, now=None, slug=KAT):
    now = now or utcnow()
    token = accounts.start_web_session(
        session, user, now=now, settings=Settings(), mfa_pending=False
    )
    reader, view = courses.open_module(session, token, slug, module, now=now, admit=_admit)
    assert (reader.user_id, reader.role) == (user.id, user.role)
    return view


def _pass(session, user, course, key):
    started = quizzes.start_attempt(session, user, course, key, now=utcnow())
    questions = grading.public_questions(started.attempt.snapshot)
    answers = correct_answers(questions, answer_key(ROOT, KAT, key))
    assert quizzes.submit_attempt(session, user, started.attempt.public_id, answers, now=utcnow())
    session.commit()


def test_open_module_gives_the_states_of_progress_as_quizzes_are_passed(session, course):
    user = make_user(session)
    courses.enroll(session, user, course, now=utcnow())
    session.commit()
    for key in ("foundations", "pharmacology"):
        view = _open(session, user, key)
        progress = courses.progress(session, user, course)
        assert [(m.module.slug, m.state, m.missing) for m in view.modules] == [
            (m.module.slug, m.state, m.missing) for m in progress.modules
        ]
        assert view.html and view.state.module.slug == key
        keys_before = view.cache_key
        _pass(session, user, course, key)
        after = _open(session, user, key)
        assert after.state.state == courses.PASSED
        assert after.cache_key != keys_before  # the cached page changes with the state
        assert {m.module.slug for m in after.modules if m.state == courses.PASSED} == (
            quizzes.passed_bank_keys(session, user, course)
        )


def test_open_module_refuses_what_read_module_refuses(session, course):
    learner = make_user(session)
    with pytest.raises(NotEnrolled):
        _open(session, learner, "foundations")
    courses.enroll(session, learner, course, now=utcnow())
    with pytest.raises(ModuleLocked) as locked:
        _open(session, learner, "pharmacology")
    progress = courses.progress(session, learner, course)
    with pytest.raises(ModuleLocked) as expected:
        courses.require_module_open(progress, "pharmacology", viewer=learner)
    assert locked.value.detail == expected.value.detail
    assert locked.value.extra == expected.value.extra
    with pytest.raises(ModuleNotFound):
        _open(session, learner, "no-such-module")
    with pytest.raises(CourseNotFound):
        _open(session, learner, "x", slug="nope")


def test_open_module_reads_the_session_with_the_page_and_lets_admit_decide(session, course):
    user = make_user(session)
    now = utcnow()
    seen = []

    def admit(found):
        seen.append(found)
        if found is None:
            raise Unauthenticated("please sign in")
        return found

    for token in (None, "not-a-session"):
        with pytest.raises(Unauthenticated):
            courses.open_module(session, token, KAT, "foundations", now=now, admit=admit)
    token = accounts.start_web_session(
        session, user, now=now, settings=Settings(), mfa_pending=True
    )
    with pytest.raises(NotEnrolled):  # admit let the pending session in: rules are admit's
        courses.open_module(session, token, KAT, "foundations", now=now, admit=admit)
    assert seen[:2] == [None, None]
    assert seen[2] == accounts.SignedIn(
        user_id=user.id, role=Role.learner, is_mfa_pending=True, is_totp_enabled=False
    )
    later = now + timedelta(hours=Settings().session_hours, seconds=1)
    with pytest.raises(Unauthenticated):  # expired
        courses.open_module(session, token, KAT, "foundations", now=later, admit=admit)


def test_drafts_are_hidden_from_learners_and_staff_skip_the_gates(session, course):
    learner, staff = make_user(session), make_user(session, role=Role.instructor)
    courses.enroll(session, learner, course, now=utcnow())
    assert _open(session, staff, "pharmacology").state.state == courses.LOCKED  # shown anyway
    course.status = CourseStatus.draft
    session.add(course)
    session.flush()
    with pytest.raises(CourseNotFound):
        _open(session, learner, "foundations")
    assert _open(session, staff, "foundations").course.slug == KAT


def test_a_view_writes_its_reading_note_at_most_once_a_minute(session, course):
    user = make_user(session)
    courses.enroll(session, user, course, now=utcnow())
    start = utcnow()
    first = _open(session, user, "foundations", now=start)
    assert first.note is not None and first.note.visit_id is None
    courses.save_reading(session, first.note, now=start)
    assert _open(session, user, "foundations", now=start + timedelta(seconds=30)).note is None
    later = _open(session, user, "foundations", now=start + timedelta(seconds=90))
    assert later.note is not None and later.note.add_seconds == 90
    courses.save_reading(session, later.note, now=start + timedelta(seconds=90))
    assert courses.time_on_modules(session, user, course) == {"foundations": 90}


def test_without_a_session_the_view_comes_from_the_caches_or_asks_for_the_database(session, course):
    """finish_open_module(None, row): what the event-loop path runs first (deps.run_prepared)."""
    learner = make_user(session)
    courses.enroll(session, learner, course, now=utcnow())
    session.commit()
    now = utcnow()
    token = accounts.start_web_session(
        session, learner, now=now, settings=Settings(), mfa_pending=False
    )
    read = courses.open_module_read(token, KAT, "foundations", now=now)
    assert read is not None and courses.open_module_read(None, KAT, "foundations", now=now) is None
    row = read[0].first(session, read[1])
    courses._COURSE_CACHE.clear()  # a cache miss needs the database
    with pytest.raises(NeedsDatabase):
        courses.finish_open_module(None, row, KAT, "foundations", now=now, admit=_admit)
    with_db = courses.finish_open_module(session, row, KAT, "foundations", now=now, admit=_admit)
    cached = courses.finish_open_module(None, row, KAT, "foundations", now=now, admit=_admit)
    assert cached[1].cache_key == with_db[1].cache_key and cached[1].html == with_db[1].html

    # Staff without a second factor: whether the site requires one is a setting in the database.
    instructor = make_user(session, role=Role.instructor)
    assert accounts.mfa_setup_missing(None, Role.learner, is_totp_enabled=False) is False
    assert accounts.mfa_setup_missing(None, Role.admin, is_totp_enabled=True) is False
    with pytest.raises(NeedsDatabase):
        accounts.mfa_setup_missing(None, instructor.role, is_totp_enabled=False)
