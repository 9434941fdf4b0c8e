"""Alembic environment: runs on a connection handed in by the app, or on the configured URL."""

import app.models  # noqa: F401  (registers every table)
from alembic import context
from app.core.db import make_engine, metadata
from app.core.settings import get_settings

config = context.config


def run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    url = config.get_main_option("sqlalchemy.url") or get_settings().sqlalchemy_url
    engine = make_engine(url)
    with engine.connect() as conn:
        run(conn)
        conn.commit()
    engine.dispose()
