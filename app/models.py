"""Every feature's tables, imported in one place for Alembic and relationships."""

from app.accounts.models import (
    LoginFailure,
    PasswordResetToken,
    RecoveryCode,
    SiteSetting,
    User,
    WebSession,
)
from app.analytics.models import BankTotals, ItemGroupSums, LearnerBankSummary  # noqa: F401
from app.audit.models import AuditEntry
from app.certificates.models import Certificate
from app.courses.models import Course, Enrollment, Module, ModuleVersion, ModuleVisit
from app.licences.models import Licence
from app.quizzes.models import (
    EvaluationResponse,
    QuizAttempt,
    QuizBank,
    QuizItemResponse,  # noqa: F401 (for Alembic)
    QuizVersion,
)
from app.reporting.models import CEBrokerExport, CEBrokerReport  # noqa: F401 (for Alembic)
from app.studio.models import StudioDraft, StudioPublish  # noqa: F401 (for Alembic)

__all__ = [
    "AuditEntry",
    "Certificate",
    "Course",
    "Enrollment",
    "EvaluationResponse",
    "Licence",
    "LoginFailure",
    "Module",
    "ModuleVersion",
    "ModuleVisit",
    "PasswordResetToken",
    "QuizAttempt",
    "QuizBank",
    "QuizVersion",
    "RecoveryCode",
    "SiteSetting",
    "User",
    "WebSession",
]
