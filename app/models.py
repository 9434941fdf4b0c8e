"""Every feature's tables, imported in one place for Alembic and relationships."""

from app.accounts.models import (
    LoginFailure,
    PasswordResetToken,
    RecoveryCode,
    SiteSetting,
    User,
    WebSession,
)

__all__ = [
    "LoginFailure",
    "PasswordResetToken",
    "RecoveryCode",
    "SiteSetting",
    "User",
    "WebSession",
]
