"""Professions a licence can be for: a stable key (used in course.yaml approvals and CE Broker
profession-code maps) and the label learners see and certificates print."""

PROFESSIONS: dict[str, str] = {
    "social-worker": "Clinical Social Worker (LCSW)",
    "counselor": "Professional Counselor (LPC/LPCC/LMHC)",
    "mft": "Marriage and Family Therapist (LMFT)",
    "psychologist": "Psychologist",
    "nurse": "Registered Nurse (RN)",
    "pmhnp": "Psychiatric-Mental Health Nurse Practitioner (PMHNP)",
    "physician": "Physician",
    "other": "Other",
}
_BY_LABEL = {label.casefold(): key for key, label in PROFESSIONS.items()}


def label(key: str) -> str:
    return PROFESSIONS.get(key, key)


def key_for(text: str) -> str:
    """The key for a key or a label (profiles store the label); 'other' for anything else."""
    text = text.strip()
    if text in PROFESSIONS:
        return text
    return _BY_LABEL.get(text.casefold(), "other")
