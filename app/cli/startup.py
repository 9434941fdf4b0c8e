"""What ``lms serve`` does before it serves."""

from app.core.db import make_engine, upgrade_to_head
from app.core.settings import Settings


def prepare(settings: Settings) -> None:
    """Migrate the database (and, as features land, import content and make keys)."""
    settings.ensure_data_dir()
    engine = make_engine(settings.sqlalchemy_url)
    upgrade_to_head(engine)
    engine.dispose()
