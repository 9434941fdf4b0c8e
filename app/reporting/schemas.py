"""Reporting shapes: the admin pages and /api/v1/admin/... share them."""

from pydantic import BaseModel, ConfigDict, Field


class RosterRowOut(BaseModel):
    certificate_code: str
    learner_name: str
    approval_id: str
    provider_tracking_number: str
    course_tracking_number: str  # "" when the course is reported by its own id
    course_id: str  # the provider's own course id, when there is no course tracking number
    publishing_number: str
    licence_number: str
    completion_date: str
    state: str
    profession_code: str
    subject_code: str  # partial credit only
    hours: float | None  # partial credit only; null = full credit
    cells: list[str | float | None]  # columns A..J as written (dates as ISO 8601)


class SkippedOut(BaseModel):
    certificate_code: str
    learner_name: str
    # revoked | superseded | no_licence_number | no_licence_state | no_cebroker_approval |
    # no_profession_code | already_reported | duplicate
    reason: str
    detail: str


class RosterPreviewOut(BaseModel):
    course: str
    digest: str  # send it back to mark exactly these rows reported
    columns: list[str]
    rows: list[RosterRowOut]
    skipped: list[SkippedOut]


class MarkReportedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    digest: str = Field(min_length=64, max_length=64, description="from the preview")


class ExportSummaryOut(BaseModel):
    id: int
    course: str
    created_at: str
    created_by: str | None
    row_count: int
    file_name: str
    sha256: str
    download_url: str


class ExportOut(ExportSummaryOut):
    rows: list[RosterRowOut]


class ApprovalSummaryOut(BaseModel):
    id: str
    body: str
    number: str
    credit_type: str
    credit_amount: float
    valid_from: str
    valid_until: str


class CourseActivityOut(BaseModel):
    slug: str
    title: str
    version: int
    status: str
    release_date: str
    expires_on: str
    is_available_in_year: bool  # published, released by the year's end, not expired before it
    ce_hours: float
    approvals: list[ApprovalSummaryOut]  # those in force at some time in the year
    completions: int
    hours_awarded: float


class ProviderActivityOut(BaseModel):
    provider: str
    courses: list[CourseActivityOut]
    completions: int
    hours_awarded: float


class AnnualActivityOut(BaseModel):
    year: int
    providers: list[ProviderActivityOut]
    completions: int
    hours_awarded: float
