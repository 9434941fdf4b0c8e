"""Course API shapes (contract field names)."""

from pydantic import BaseModel


class CourseSummaryOut(BaseModel):
    slug: str
    title: str
    summary: str
    ce_hours: float
    version: int
    module_count: int
    audience: str


class ModuleStateOut(BaseModel):
    slug: str
    title: str
    position: int
    state: str  # locked | available | passed
    estimated_minutes: int


class StateOut(BaseModel):
    state: str


class CertificateRefOut(BaseModel):
    code: str


class CourseDetailOut(BaseModel):
    slug: str
    title: str
    ce_hours: float
    version: int
    enrolled: bool
    modules: list[ModuleStateOut]
    final_exam: StateOut
    evaluation: StateOut
    certificate: CertificateRefOut | None
    summary: str
    audience: str
    objectives: list[str]
    instructional_level: str
    delivery_format: str
    provider_name: str
    accreditation_statement: str


class TocEntryOut(BaseModel):
    id: str
    title: str
    level: int


class ModuleOut(BaseModel):
    slug: str
    title: str
    html: str
    toc: list[TocEntryOut]
    state: str
    estimated_minutes: int
    version: int


class EnrollmentOut(BaseModel):
    course: str
    enrolled: bool
    created: bool
