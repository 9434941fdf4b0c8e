"""What ``lms serve`` does before it serves."""

import logging
from datetime import date

from sqlmodel import Session

from app.certificates import service as certificates
from app.core.clock import utcnow
from app.core.db import make_engine, upgrade_to_head, writer
from app.core.settings import Settings
from app.studio import importer
from app.studio.parsing import load_content

log = logging.getLogger("lms.startup")


def prepare(settings: Settings) -> None:
    """Migrate, import content that changed (all or nothing), make signing keys."""
    settings.ensure_data_dir()
    engine = make_engine(settings.sqlalchemy_url)
    upgrade_to_head(engine)
    root = settings.content_dir
    if (root / "courses").is_dir():
        report = load_content(root, today=date.today())  # noqa: DTZ011
        if report.errors:
            # Serve what the database already has rather than half-imported content.
            for problem in report.errors:
                log.error("content: %s", problem)
            log.error("content has %d error(s); nothing imported", len(report.errors))
        else:
            with Session(writer(engine), expire_on_commit=False) as session:
                result = importer.import_specs(session, report.courses, now=utcnow())
                session.commit()
            log.warning("content: %s", result.summary())
    engine.dispose()
    certificates.ensure_keys(settings)
