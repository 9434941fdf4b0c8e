"""Human-readable certificate codes such as ``KAT-7F3K-9QX2``.

A code is printed on paper and typed back in by a person, so the alphabet leaves out characters
that are easily confused when read aloud or in print (0/O, 1/I/L) and U (keeps accidental words
out). Uniqueness is enforced by the database; callers retry on the rare collision.
"""

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS = 2
GROUP_SIZE = 4

_PREFIX = r"[A-Z]{2,8}"
_GROUP = f"[{ALPHABET}]{{{GROUP_SIZE}}}"
_CODE_RE = re.compile(rf"{_PREFIX}(?:-{_GROUP}){{{GROUPS}}}")
# Separators people type or paste instead of a hyphen (spaces, en/em dashes from word processors).
_SEPARATORS_RE = re.compile(r"[\s\-\u2010-\u2015\u2212_]+")


def new_code(prefix: str = "KAT") -> str:
    """A fresh random code such as ``KAT-7F3K-9QX2`` (30**8 ≈ 6.6e11 possibilities a prefix)."""
    prefix = prefix.upper()
    if not re.fullmatch(_PREFIX, prefix):
        raise ValueError("a code prefix is 2 to 8 letters A-Z")
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(GROUP_SIZE)) for _ in range(GROUPS))
    return "-".join([prefix, *groups])


def normalize_code(text: str) -> str | None:
    """The canonical form of a typed code (upper case, hyphen-separated), or None if malformed."""
    parts = [p for p in _SEPARATORS_RE.split(text.strip().upper()) if p]
    candidate = "-".join(parts)
    return candidate if _CODE_RE.fullmatch(candidate) else None
