"""Shared builders for the certificate tests (pure code: no database, no app)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from app.certificates.signing import build_credential

BASE_URL = "https://ce.example.org"
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
CODE = "KAT-7F3K-9QX2"
LEARNER_UUID = "5f0c6a4e-2b1d-4c3e-9a8b-7d6e5f4a3b2c"
NON_LATIN_NAME = "Zoë Ñúñez-Øster Дмитрий Ἀλέξανδρος"
STATUS_LIST_URL = f"{BASE_URL}/status/1"


def make_credential(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "base_url": BASE_URL,
        "code": CODE,
        "issuer_name": "Kestrel Continuing Education",
        "learner_uuid": LEARNER_UUID,
        "learner_name": NON_LATIN_NAME,
        "course_title": "Safe Opioid Prescribing in Primary Care",
        "course_description": "Assessment, prescribing and tapering of opioids.",
        "criteria_narrative": "Completed all modules, passed the final exam, submitted the evaluation.",
        "achievement_id": f"{BASE_URL}/courses/safe-opioid-prescribing/v/3",
        "content_version": "3",
        "ce_hours": 2.5,
        "valid_from": NOW,
        "valid_until": NOW + timedelta(days=730),
        "status_list_url": STATUS_LIST_URL,
        "status_index": 42,
    }
    fields.update(overrides)
    return build_credential(**fields)
