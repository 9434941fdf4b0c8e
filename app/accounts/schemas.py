"""Request and response shapes for accounts (contract field names)."""

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from app.accounts.models import Role

US_STATES = frozenset(
    """
    AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH
    NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP
    """.split()  # noqa: SIM905 (readable as a block)
)
PROFESSIONS = (
    "Clinical Social Worker (LCSW)",
    "Professional Counselor (LPC/LPCC/LMHC)",
    "Marriage and Family Therapist (LMFT)",
    "Psychologist",
    "Registered Nurse (RN)",
    "Psychiatric-Mental Health Nurse Practitioner (PMHNP)",
    "Physician",
    "Other",
)


class ProfileIn(BaseModel):
    """The learner's own details, as printed on certificates."""

    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(min_length=1, max_length=200)
    profession: str = Field(min_length=1, max_length=100)
    license_number: str = Field(default="", max_length=64)
    license_state: str = Field(default="", max_length=2)

    @field_validator("full_name", "profession", "license_number", "license_state", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("license_state")
    @classmethod
    def _state(cls, value: str) -> str:
        value = value.upper()
        if value and value not in US_STATES:
            raise ValueError("use a two-letter US state or territory code, e.g. CA")
        return value

    @field_validator("full_name")
    @classmethod
    def _name(cls, value: str) -> str:
        if any(ord(c) < 32 for c in value):
            raise ValueError("the name contains control characters")
        return value


class RegisterIn(ProfileIn):
    email: EmailStr = Field(max_length=254)
    password: str = Field(max_length=1024)

    @field_validator("email", mode="before")
    @classmethod
    def _strip_email(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class UserOut(BaseModel):
    id: int
    email: str
    full_name: str
    profession: str
    license_number: str
    license_state: str
    role: Role
    is_totp_enabled: bool


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (a token type, not a secret)
    expires_in: int
