"""Password hashing, random tokens and the API's access tokens (JWS via python-jose)."""

import hashlib
import hmac
import os
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
    """A random secret kept in the data dir, created once with mode 0600.

    The file appears only with its content (written to a private temp file, then hard-linked
    into place), so a process starting at the same moment never reads an empty secret."""
    if path.exists():
        return _read_secret(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secret)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:  # another process won the race: use its secret
            return _read_secret(path)
    finally:
        tmp.unlink(missing_ok=True)
    return secret


def _read_secret(path: Path) -> str:
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds no usable secret; delete it to make a new one")
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
