"""CE Broker reporting ledger: each roster export, and one row per licensee it reported.

CE Broker cannot edit or delete a posted roster row, so what was exported is kept for good: the
exact workbook (re-downloadable byte for byte) and a ledger row per licensee and completion."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class CEBrokerExport(SQLModel, table=True):
    __tablename__ = "cebroker_export"

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True, ondelete="RESTRICT")
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    row_count: int
    file_name: str = Field(max_length=200)
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CEBrokerReport(SQLModel, table=True):
    """One licensee's completion as reported. The unique key is the licensee (state, CE Broker
    profession code, licence number) and the completion date, per course: a later completion (a
    renewal) can be reported, the same one never twice, even by two exports racing."""

    __tablename__ = "cebroker_report"
    __table_args__ = (
        UniqueConstraint(
            "course_id",
            "state",
            "profession_code",
            "licence_key",
            "completion_date",
            name="uq_cebroker_report_licensee",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    export_id: int = Field(foreign_key="cebroker_export.id", index=True, ondelete="RESTRICT")
    course_id: int = Field(foreign_key="course.id", ondelete="RESTRICT")
    certificate_id: int | None = Field(
        default=None, foreign_key="certificate.id", ondelete="SET NULL"
    )
    certificate_code: str = Field(max_length=20)
    learner_name: str = Field(max_length=200)
    row_number: int  # 1-based row in the export's workbook
    state: str = Field(max_length=2)
    profession_code: str = Field(max_length=40)
    licence_key: str = Field(max_length=64)  # the licence number, upper case, without spaces
    licence_number: str = Field(max_length=64)  # as sent
    completion_date: date
    cells: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
