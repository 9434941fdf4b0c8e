"""Account tables: users, browser sessions, throttling, reset tokens, recovery codes."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import Column, Enum, Index
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class Role(enum.StrEnum):
    learner = "learner"
    instructor = "instructor"
    admin = "admin"


class User(SQLModel, table=True):
    __tablename__ = "user"

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(default_factory=lambda: str(uuid.uuid4()), unique=True, max_length=36)
    email: str = Field(unique=True, index=True, max_length=254)
    full_name: str = Field(max_length=200)
    profession: str = Field(default="", max_length=100)
    license_number: str = Field(default="", max_length=64)
    license_state: str = Field(default="", max_length=2)
    role: Role = Field(
        default=Role.learner,
        sa_column=Column(Enum(Role, name="role", native_enum=False, length=20), nullable=False),
    )
    password_hash: str = Field(max_length=255)
    totp_secret: str | None = Field(default=None, max_length=64)
    is_totp_enabled: bool = Field(default=False)
    # Last accepted TOTP time step: a code is accepted once, never replayed.
    totp_last_step: int | None = Field(default=None)
    is_active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # Set when the learner deleted the account: contact details are gone, records anonymised.
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A browser session. The cookie holds a random id; only its SHA-256 is stored."""

    __tablename__ = "web_session"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    is_mfa_pending: bool = Field(default=False)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class LoginFailure(SQLModel, table=True):
    """One failed sign-in, counted per account and per client address across processes."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_key_at", "key", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300)
    created_at: datetime = Field(sa_type=UTCDateTime)


class PasswordResetToken(SQLModel, table=True):
    __tablename__ = "password_reset_token"

    id: str = Field(primary_key=True, max_length=64)  # SHA-256 of the emailed token
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RecoveryCode(SQLModel, table=True):
    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    code_hash: str = Field(max_length=64)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SiteSetting(SQLModel, table=True):
    """Admin-editable switches (e.g. mandatory two-factor for staff)."""

    __tablename__ = "site_setting"

    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(max_length=1000)
