"""CE Broker reporting ledger: roster exports (with the workbook sent) and one row per licensee
and completion reported, unique per course

Revision ID: d10e5f6a7b8c
Revises: c10e4f5a6b7d
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.core.db
from alembic import op

revision: str = "d10e5f6a7b8c"
down_revision: str | None = "c10e4f5a6b7d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cebroker_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_cebroker_export_course_id"), "cebroker_export", ["course_id"], unique=False
    )
    op.create_table(
        "cebroker_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("export_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=True),
        sa.Column("certificate_code", sa.String(length=20), nullable=False),
        sa.Column("learner_name", sa.String(length=200), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("profession_code", sa.String(length=40), nullable=False),
        sa.Column("licence_key", sa.String(length=64), nullable=False),
        sa.Column("licence_number", sa.String(length=64), nullable=False),
        sa.Column("completion_date", sa.Date(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["export_id"], ["cebroker_export.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "course_id",
            "state",
            "profession_code",
            "licence_key",
            "completion_date",
            name="uq_cebroker_report_licensee",
        ),
    )
    op.create_index(
        op.f("ix_cebroker_report_export_id"), "cebroker_report", ["export_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_cebroker_report_export_id"), table_name="cebroker_report")
    op.drop_table("cebroker_report")
    op.drop_index(op.f("ix_cebroker_export_course_id"), table_name="cebroker_export")
    op.drop_table("cebroker_export")
