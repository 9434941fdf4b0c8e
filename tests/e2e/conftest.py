"""Browser tests: a live uvicorn server on the test database (SQLite, or PostgreSQL when
LMS_TEST_POSTGRES_URL is set), driven by Debian's chromium through Playwright.

Unlike the rest of the suite these tests commit real data, because the server runs in its own
thread and transactions. Fixtures here are package-scoped so that the data is deleted (the
accounts they made, the courses they imported) before the next test package runs.
"""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, delete, select

from app.accounts.models import LoginFailure, User
from app.certificates.models import Certificate
from app.core.settings import Settings
from app.courses.models import Course
from app.main import create_app
from tests.content_helpers import KAT, ROOT, import_tree
from tests.e2e.helpers import ADVISORIES, DEMO, DEMO_ROOT, EMAIL_DOMAIN, EMAIL_PREFIX
from tests.live import serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: browser tests (live server + chromium); select with -m e2e"
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if ADVISORIES:
        terminalreporter.write_sep(
            "-", "axe advisories (best-practice, minor or moderate; not failed)"
        )
        for entry in ADVISORIES:
            terminalreporter.write_line(entry)


def _unavailable(reason: str) -> None:
    """Without a browser: a failure in CI, a loud skip on a developer machine."""
    hint = "run `bash scripts/install-browser.sh` (as root for apt-get)"
    if os.getenv("CI") == "true":
        pytest.fail(f"browser tests cannot run under CI=true: {reason}; {hint}", pytrace=False)
    pytest.skip(f"!!! SKIPPED browser (e2e) test: {reason}; {hint} !!!")


@dataclass
class Live:
    """The running server and what it serves."""

    url: str
    engine: Engine
    settings: Settings
    imported: list[str] = field(default_factory=list)  # course slugs to delete afterwards


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def _content_dir(base: Path) -> Path:
    """One content folder holding both course trees, so course images resolve for each."""
    courses = base / "courses"
    courses.mkdir(parents=True)
    (courses / DEMO).symlink_to(DEMO_ROOT / "courses" / DEMO, target_is_directory=True)
    (courses / KAT).symlink_to(ROOT / "courses" / KAT, target_is_directory=True)
    return base


def _import(live: Live, root: Path, slug: str) -> None:
    with Session(live.engine, expire_on_commit=False) as session:
        existed = session.exec(select(Course.id).where(Course.slug == slug)).first() is not None
        import_tree(session, root)
    if not existed:
        live.imported.append(slug)


@pytest.fixture(scope="package")
def live(
    browser: Any, engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """A live server with the demo course imported. `browser` first: no browser, no server."""
    base = tmp_path_factory.mktemp("e2e")
    settings = Settings(
        data_dir=base / "data",
        database_url=database_url,
        base_url="http://127.0.0.1",
        content_dir=_content_dir(base / "content"),
    )
    app = create_app(settings)
    state = Live(url="", engine=engine, settings=settings)
    try:
        _import(state, DEMO_ROOT, DEMO)
        with serve(app) as url:
            state.url = url
            yield state
    finally:
        app.state.engine.dispose()
        with Session(engine) as session:
            pattern = f"{EMAIL_PREFIX}%{EMAIL_DOMAIN}"
            session.exec(delete(User).where(col(User.email).like(pattern)))
            session.exec(delete(LoginFailure).where(col(LoginFailure.key).contains(EMAIL_PREFIX)))
            if state.imported:
                ids = select(Course.id).where(col(Course.slug).in_(state.imported))
                # Certificates are records: the schema refuses to drop a course that has some.
                session.exec(delete(Certificate).where(col(Certificate.course_id).in_(ids)))
                session.exec(delete(Course).where(col(Course.slug).in_(state.imported)))
            session.commit()


@pytest.fixture(scope="package")
def real_course(live: Live) -> str:
    """The course at the repository root, for tests that need real-sized content."""
    _import(live, ROOT, KAT)
    return KAT


@pytest.fixture
def new_context(browser: Any, live: Live) -> Iterator[Callable[..., Any]]:
    """Makes browser contexts (one per user) on the live server; closes them after the test."""
    made: list[Any] = []

    def make(**options: Any) -> Any:
        context = browser.new_context(base_url=live.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., Any]) -> Any:
    return new_context().new_page()
