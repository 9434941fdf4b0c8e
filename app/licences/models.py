"""A learner's professional licences; certificates and board reports use the one chosen at
claim time."""

from datetime import date, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class Licence(SQLModel, table=True):
    __tablename__ = "licence"
    __table_args__ = (
        UniqueConstraint("user_id", "profession", "state", "number", name="uq_licence_user_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    profession: str = Field(max_length=40)  # a key of app.licences.professions.PROFESSIONS
    state: str = Field(max_length=2)  # US state or territory code
    number: str = Field(max_length=64)
    expires_on: date | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)
