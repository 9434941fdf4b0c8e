"""analytics summaries (placeholder; filled in by the analytics work)

Revision ID: 8a7f3c2e91d0
Revises: 3eb556674c88
Create Date: 2026-11-23 06:40:00
"""

from collections.abc import Sequence

revision: str = "8a7f3c2e91d0"
down_revision: str | None = "3eb556674c88"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
