"""An admin reports a course to CE Broker, reads the annual summary and downloads the
certificate ZIP in a real browser (Debian's chromium), with axe-core on every reporting page."""

import io
import zipfile
from dataclasses import replace

import openpyxl
import pytest
from sqlmodel import Session, col, delete, select

from app.accounts.models import Role, User
from app.certificates.models import Certificate
from app.core.settings import Settings
from app.courses.models import Course
from app.main import create_app
from app.reporting.models import CEBrokerExport, CEBrokerReport
from tests.content_helpers import import_tree
from tests.e2e.conftest import TIMEOUT_MS, Live, browser  # noqa: F401 (fixture)
from tests.e2e.helpers import (
    DEMO_ROOT,
    EMAIL_DOMAIN,
    EMAIL_PREFIX,
    complete_with_certificate,
    create_account,
    enrol,
    sign_in,
)
from tests.e2e.test_accessibility import assert_accessible, assert_reflows
from tests.live import serve
from tests.reporting.builders import FLORIDA

pytestmark = pytest.mark.e2e
SLUG = "demo-course"


@pytest.fixture
def live(browser, engine, database_url, tmp_path):  # noqa: F811
    """A live server on the test database with the demo course under a CE Broker approval for
    California social workers; everything committed here is deleted afterwards."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        base_url="http://127.0.0.1",
        content_dir=tmp_path / "content",
    )
    with Session(engine, expire_on_commit=False) as s:
        assert s.exec(select(Course).where(Course.slug == SLUG)).first() is None
        course = import_tree(s, DEMO_ROOT)[0]
        course.approvals = [
            replace(FLORIDA, states=("CA",), credit_amount=course.ce_hours).to_json()
        ]
        course.credit_basis = "Reading time at 200 words a minute."
        s.add(course)
        s.commit()
    app = create_app(settings)
    state = Live(url="", engine=engine, settings=settings)
    try:
        with serve(app) as url:
            state.url = url
            yield state
    finally:
        app.state.engine.dispose()
        with Session(engine) as s:
            exports = select(CEBrokerExport.id).where(CEBrokerExport.course_id == course.id)
            s.exec(delete(CEBrokerReport).where(col(CEBrokerReport.export_id).in_(exports)))
            s.exec(delete(CEBrokerExport).where(col(CEBrokerExport.course_id) == course.id))
            s.exec(delete(Certificate).where(col(Certificate.course_id) == course.id))
            s.exec(
                delete(User).where(col(User.email).like(f"{EMAIL_PREFIX}cebroker-%{EMAIL_DOMAIN}"))
            )
            s.exec(delete(Course).where(col(Course.id) == course.id))
            s.commit()


@pytest.fixture
def certified(live):
    """A learner who completed the course and holds its certificate."""
    learner = create_account(live.engine, "cebroker-learner")
    enrol(live.engine, learner, SLUG)
    return complete_with_certificate(live.engine, live.settings, learner, SLUG, DEMO_ROOT)


@pytest.fixture
def new_page(browser, live):  # noqa: F811
    context = browser.new_context(base_url=live.url, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_admin_reports_to_cebroker_and_downloads_records(live, new_page, certified):
    admin = create_account(live.engine, "cebroker-admin", Role.admin)
    page = new_page
    sign_in(page, admin.email)

    page.get_by_role("link", name="Reports").click()
    page.wait_for_url("**/admin/reporting")
    assert_accessible(page, "reports")
    assert_reflows(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("link", name="CE Broker roster for Demo course for tests").click()
    page.wait_for_url(f"**/admin/reporting/courses/{SLUG}/cebroker")
    assert page.get_by_role("heading", name="Not yet reported (1)").is_visible()
    row = page.get_by_role("table", name="Rows the next export will contain").get_by_role("row")
    assert certified in row.nth(1).inner_text()
    assert_accessible(page, "cebroker-preview")
    assert_reflows(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("button", name="Mark 1 licensee reported").click()
    page.wait_for_url("**/cebroker?exported=*")
    assert "is marked reported (1 licensee)" in page.get_by_role("status").inner_text()
    assert page.get_by_role("heading", name="Not yet reported (0)").is_visible()
    assert_accessible(page, "cebroker-after-export")
    with page.expect_download() as info:
        page.get_by_role("status").get_by_role("link").click()
    assert info.value.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(info.value.path().read_bytes()))["Roster"]
    assert [c.value for c in sheet[1]][4:8] == [
        "LCSW-12345",
        sheet["F1"].value,
        "State=CA",
        "Profession=TSW",
    ]

    page.get_by_role("link", name="Export", exact=False).first.click()
    page.wait_for_url("**/cebroker/exports/*")
    assert certified in page.content()
    assert_accessible(page, "cebroker-export")
    assert_reflows(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto("/admin/reporting")
    page.get_by_role("button", name="Show the summary").click()
    page.wait_for_url("**/annual-activity?year=*")
    assert page.get_by_role("heading", name="Example CE Provider").is_visible()
    assert_accessible(page, "annual-activity")
    assert_reflows(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto("/admin/reporting")
    with page.expect_download() as info:
        page.get_by_role("link", name="ZIP of the certificates of Demo course for tests").click()
    with zipfile.ZipFile(io.BytesIO(info.value.path().read_bytes())) as archive:
        assert f"certificates/{certified}.pdf" in archive.namelist()
        assert "manifest.csv" in archive.namelist()
