"""CE provider operations: licences, accreditation approvals, certificate licence/approvals,
expiry reminders, account deletion; existing profile licences become licence rows

Revision ID: c10e4f5a6b7d
Revises: 8a7f3c2e91d0
Create Date: 2026-11-23 06:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.core.db
from alembic import op

revision: str = "c10e4f5a6b7d"
down_revision: str | None = "8a7f3c2e91d0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Profile labels (app.licences.professions) -> keys, for the backfill below.
_PROFESSION_KEYS = {
    "Clinical Social Worker (LCSW)": "social-worker",
    "Professional Counselor (LPC/LPCC/LMHC)": "counselor",
    "Marriage and Family Therapist (LMFT)": "mft",
    "Psychologist": "psychologist",
    "Registered Nurse (RN)": "nurse",
    "Psychiatric-Mental Health Nurse Practitioner (PMHNP)": "pmhnp",
    "Physician": "physician",
}


def upgrade() -> None:
    op.create_table(
        "licence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("profession", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "profession", "state", "number", name="uq_licence_user_key"),
    )
    op.create_index(op.f("ix_licence_user_id"), "licence", ["user_id"], unique=False)
    with op.batch_alter_table("course") as batch:
        batch.add_column(sa.Column("credit_basis", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("approvals", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("deleted_at", app.core.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table("certificate") as batch:
        batch.add_column(sa.Column("licence_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("profession_key", sa.String(length=40), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("approvals", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("expiry_reminder_sent_at", app.core.db.UTCDateTime(), nullable=True)
        )
        batch.create_foreign_key(
            "fk_certificate_licence_id_licence",
            "licence",
            ["licence_id"],
            ["id"],
            ondelete="SET NULL",
        )

    # Licences given at sign-up become each learner's first licence row.
    case = (
        "CASE {column} "
        + " ".join(f"WHEN '{label}' THEN '{key}'" for label, key in _PROFESSION_KEYS.items())
        + " ELSE 'other' END"
    )
    op.execute(
        "INSERT INTO licence (user_id, profession, state, number, created_at) "  # noqa: S608 (constants)
        f"SELECT id, {case.format(column='profession')}, license_state, TRIM(license_number), "
        "created_at FROM \"user\" WHERE TRIM(license_number) <> '' AND license_state <> ''"
    )
    op.execute(
        f"UPDATE certificate SET profession_key = {case.format(column='profession')} "  # noqa: S608 (constants)
        "WHERE profession <> ''"
    )


def downgrade() -> None:
    with op.batch_alter_table("certificate") as batch:
        batch.drop_constraint("fk_certificate_licence_id_licence", type_="foreignkey")
        batch.drop_column("expiry_reminder_sent_at")
        batch.drop_column("approvals")
        batch.drop_column("profession_key")
        batch.drop_column("licence_id")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("deleted_at")
    with op.batch_alter_table("course") as batch:
        batch.drop_column("approvals")
        batch.drop_column("credit_basis")
    op.drop_index(op.f("ix_licence_user_id"), table_name="licence")
    op.drop_table("licence")
