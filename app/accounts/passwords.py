"""Password rules after NIST SP 800-63B-4 (2025): length and a blocklist, no composition rules."""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MIN_LENGTH_PASSWORD_ONLY = 15
MIN_LENGTH_WITH_SECOND_FACTOR = 8
MAX_LENGTH = 256  # NIST asks for at least 64; longer only costs hashing time
_KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class PasswordContext:
    email: str = ""
    full_name: str = ""
    site_name: str = ""


@lru_cache
def blocklist() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(x.strip().lower() for x in lines if x.strip() and not x.startswith("#"))


def _is_sequence(text: str) -> bool:
    """All one character, or a run along the keyboard or alphabet (either direction)."""
    if len(set(text)) <= 2:
        return True
    for row in _KEYBOARD_ROWS:
        looped = row * 4
        if text in looped or text[::-1] in looped:
            return True
    return False


def password_problem(
    password: str, context: PasswordContext, *, has_second_factor: bool = False
) -> str | None:
    """The reason a password is refused, or None when it is acceptable."""
    minimum = MIN_LENGTH_WITH_SECOND_FACTOR if has_second_factor else MIN_LENGTH_PASSWORD_ONLY
    if len(password) < minimum:
        return f"Use at least {minimum} characters (this one has {len(password)})."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    core = lowered.rstrip("0123456789!@#$%^&*()-_=+.,;:?~ ")
    if lowered in blocklist() or core in blocklist():
        return "This password is on a list of commonly used or breached passwords."
    compact = re.sub(r"\s+", "", lowered)
    if _is_sequence(compact):
        return "This password is a repeated or sequential pattern that is easy to guess."
    words: list[tuple[str, str]] = []
    if context.email:
        local = context.email.lower().split("@")[0]
        words.append((context.email.lower(), "your email address"))
        words.append((local, "your email address"))
    for part in re.split(r"[\s\-'.]+", context.full_name.lower()):
        if len(part) >= 3:
            words.append((part, "your name"))
    if context.site_name:
        words.append((context.site_name.lower().replace(" ", ""), "the site's name"))
    # Refused when what is left after removing context words and padding is too little.
    remaining = compact
    matched: str | None = None
    for word, what in words:
        if len(word) >= 3 and word in remaining:
            remaining = remaining.replace(word, "")
            matched = matched or what
    if matched and len(remaining.strip("0123456789!@#$%^&*()-_=+.,;:?~")) < 8:
        return f"This password is too close to {matched}."
    return None
