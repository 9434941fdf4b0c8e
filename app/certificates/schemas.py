"""Certificate and verification API shapes (contract field names)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ClaimIn(BaseModel):
    """Optional body of a claim: the licence the certificate is for."""

    model_config = ConfigDict(extra="forbid")

    licence_id: int | None = None


class RenewalOut(BaseModel):
    certificate: str | None  # the current certificate's code; null: nothing to renew
    expires_at: str | None = None
    opens_at: str | None = None
    is_open: bool = False
    final_passed: bool = False
    ready: bool = False


class IssuedOut(BaseModel):
    code: str
    token: str
    verify_url: str
    pdf_url: str


class CertificateOut(BaseModel):
    code: str
    status: str  # valid | revoked | expired | superseded
    learner_name: str
    course_title: str
    ce_hours: float
    issued_at: str
    expires_at: str | None
    completion_date: str
    content_version: str
    profession: str
    license_state: str
    revoked_at: str | None = None
    revocation_reason: str | None = None
    superseded_by: str | None = None


class VerifyIn(BaseModel):
    token: str = Field(max_length=65536)


class VerifyOut(BaseModel):
    valid: bool
    status: str  # valid | revoked | expired | superseded | invalid
    reason: str
    certificate: CertificateOut | None = None
    credential: dict[str, Any] | None = None


class BatchIn(BaseModel):
    items: list[str] = Field(max_length=100)


class BatchItemOut(BaseModel):
    """One batch answer: the verdict and the certificate record, without the signed credential
    (a hundred of those is most of a megabyte; POST /verify returns it for one token)."""

    item: str
    valid: bool
    status: str
    reason: str
    certificate: CertificateOut | None = None


class BatchOut(BaseModel):
    results: list[BatchItemOut]


class RevocationIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


class TranscriptOut(BaseModel):
    learner_name: str
    total_ce_hours: float
    certificates: list[CertificateOut]
