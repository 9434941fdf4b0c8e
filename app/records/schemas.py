"""Shapes of the learner's data export and of account deletion."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

EXPORT_FORMAT = "clinician-ce-data-export/1"


class DeleteAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(max_length=1024, description="the account's current password")


class ProfileExport(BaseModel):
    uuid: str
    email: str
    full_name: str
    profession: str
    license_number: str
    license_state: str
    role: str
    is_totp_enabled: bool
    created_at: datetime
    deleted_at: datetime | None


class LicenceExport(BaseModel):
    id: int
    profession: str
    profession_label: str
    state: str
    number: str
    expires_on: date | None
    created_at: datetime


class ModuleVisitExport(BaseModel):
    module: str
    first_seen_at: datetime
    last_seen_at: datetime
    seconds_on_page: int


class EnrolmentExport(BaseModel):
    course: str
    course_title: str
    enrolled_at: datetime
    last_seen_at: datetime | None
    last_anchor: str
    module_visits: list[ModuleVisitExport]


class AttemptExport(BaseModel):
    id: str
    course: str
    quiz: str = Field(description="the module's slug, or 'final' for the final exam")
    number: int
    started_at: datetime
    submitted_at: datetime | None
    score: float | None
    passed: bool | None
    pass_mark: float
    questions: list[dict[str, Any]] = Field(description="as shown: prompts and options")
    answers: dict[str, Any] | None
    results: list[dict[str, Any]] | None = Field(description="as graded and shown to you")


class EvaluationExport(BaseModel):
    course: str
    submitted_at: datetime
    answers: dict[str, Any]


class CertificateExport(BaseModel):
    code: str
    course: str | None
    course_title: str
    content_version: str
    learner_name: str
    profession: str
    profession_key: str
    license_state: str
    license_number: str
    licence_id: int | None
    ce_hours: float
    completion_date: date
    issued_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revocation_reason: str
    superseded: bool
    credit_basis: dict[str, Any]
    approvals: list[dict[str, Any]]
    expiry_reminder_sent_at: datetime | None
    token: str = Field(description="the signed credential (compact JWS)")


class AuditExport(BaseModel):
    at: datetime
    action: str
    subject: str
    by_you: bool
    data: dict[str, Any]


class DataExport(BaseModel):
    """Everything the platform holds about one account."""

    format: str = EXPORT_FORMAT
    exported_at: datetime
    profile: ProfileExport
    licences: list[LicenceExport]
    enrolments: list[EnrolmentExport]
    quiz_attempts: list[AttemptExport]
    evaluations: list[EvaluationExport]
    certificates: list[CertificateExport]
    audit_entries: list[AuditExport]
