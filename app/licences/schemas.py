"""Licence request and response shapes."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.accounts.schemas import US_STATES
from app.licences.professions import PROFESSIONS


class LicenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profession: str = Field(description="a profession key, e.g. 'social-worker'")
    state: str = Field(min_length=2, max_length=2)
    number: str = Field(min_length=1, max_length=64)
    expires_on: date | None = None

    @field_validator("profession", "state", "number", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("profession")
    @classmethod
    def _profession(cls, value: str) -> str:
        if value not in PROFESSIONS:
            raise ValueError(f"choose one of: {', '.join(PROFESSIONS)}")
        return value

    @field_validator("state")
    @classmethod
    def _state(cls, value: str) -> str:
        value = value.upper()
        if value not in US_STATES:
            raise ValueError("use a two-letter US state or territory code, e.g. CA")
        return value

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        if any(ord(c) < 32 for c in value):
            raise ValueError("the licence number contains control characters")
        return value


class LicenceOut(BaseModel):
    id: int
    profession: str
    profession_label: str
    state: str
    number: str
    expires_on: date | None
