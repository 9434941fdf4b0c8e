"""Password hashing, random tokens and the API's access tokens (JWS via python-jose)."""

import hashlib
import hmac
import secrets
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from jose import jwt
from jose.exceptions import JOSEError

from app.core.errors import Unauthenticated

_hasher = PasswordHasher()  # Argon2id with the library's RFC 9106 defaults
ACCESS_TOKEN_ALGORITHM = "HS256"  # noqa: S105 (an algorithm name)


def normalize_password(password: str) -> str:
    # NIST SP 800-63B-4: accept Unicode, normalise before hashing so equal strings compare equal.
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    return _hasher.hash(normalize_password(password))


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, normalize_password(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")


def burn_password_check(password: str) -> None:
    """Spend the time of a real check, so unknown emails are not revealed by timing."""
    verify_password(_DUMMY_HASH, password)


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def load_or_create_secret(path: Path) -> str:
    """A random secret kept in the data dir, created once with mode 0600."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        fd = path.open("x", encoding="utf-8")
    except FileExistsError:  # another process created it first
        return path.read_text().strip()
    with fd:
        path.chmod(0o600)
        fd.write(secret)
    return secret


def create_access_token(secret: str, subject: str, *, now: datetime, minutes: int) -> str:
    claims = {
        "sub": subject,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
        "typ": "access",
    }
    return str(jwt.encode(claims, secret, algorithm=ACCESS_TOKEN_ALGORITHM))


def decode_access_token(secret: str, token: str) -> dict[str, Any]:
    """Claims of a valid access token; every JOSE failure becomes Unauthenticated (401)."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ACCESS_TOKEN_ALGORITHM])
    except JOSEError as exc:  # JWTError, JWKError, ExpiredSignatureError, ...
        raise Unauthenticated("invalid or expired access token") from exc
    except Exception as exc:  # malformed input can raise plain errors inside the library
        raise Unauthenticated("invalid or expired access token") from exc
    if claims.get("typ") != "access" or not isinstance(claims.get("sub"), str):
        raise Unauthenticated("invalid or expired access token")
    return dict(claims)
