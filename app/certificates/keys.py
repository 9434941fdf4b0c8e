"""Signing keys kept as files in one directory, shared by every app host that signs.

Layout of the directory:

- ``key-<created>-<thumbprint>.pem``: one unencrypted PKCS#8 private key per file, mode 0600. The
  creation time and thumbprint live in the name so that a key is complete the moment its single
  file appears (an atomic rename), with no second metadata file that could go missing.
- ``current``: the thumbprint of the key that signs new certificates.
- ``.lock``: taken (flock) only while creating or rotating, so two hosts starting at once agree
  on one first key.

Old keys stay: certificates signed with them must keep verifying, so their public halves stay
in the JWKS. Reading needs no write access, so a read-only mounted secret directory works too.
"""

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

Alg = Literal["ES256", "RS256"]

RSA_BITS = 3072
CURRENT_FILE = "current"
LOCK_FILE = ".lock"
_KEY_FILE_RE = re.compile(r"key-(\d{8}T\d{6}\d{6}Z)-([A-Za-z0-9_-]{43})\.pem")
_STAMP = "%Y%m%dT%H%M%S%fZ"


class KeyStoreError(RuntimeError):
    """The key directory is unusable (unreadable, inconsistent, or empty where a key is needed)."""


@dataclass(frozen=True)
class SigningKey:
    thumbprint: str
    alg: Alg
    # repr=False: a key object that ends up in a log line or traceback must not leak the secret.
    private_pem: bytes = field(repr=False)
    created_at: datetime


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(value: int, length: int | None = None) -> bytes:
    size = length if length is not None else max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(size, "big")


def _load_private(pem: bytes) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    if isinstance(key, rsa.RSAPrivateKey):
        return key
    raise KeyStoreError("only EC P-256 and RSA signing keys are supported")


def _required_members(pem: bytes) -> tuple[Alg, dict[str, str]]:
    """The algorithm and the RFC 7638 required public members of the key."""
    key = _load_private(pem)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        numbers = key.public_key().public_numbers()
        return "ES256", {
            "crv": "P-256",
            "kty": "EC",
            # RFC 7518 6.2.1.2: coordinates are the full field size, left-padded with zeros.
            "x": _b64url(_int_bytes(numbers.x, 32)),
            "y": _b64url(_int_bytes(numbers.y, 32)),
        }
    rsa_numbers = key.public_key().public_numbers()
    return "RS256", {
        "e": _b64url(_int_bytes(rsa_numbers.e)),
        "kty": "RSA",
        "n": _b64url(_int_bytes(rsa_numbers.n)),
    }


def jwk_thumbprint(members: dict[str, str]) -> str:
    """RFC 7638 thumbprint (SHA-256, base64url) of a public JWK's required members."""
    required = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}[members["kty"]]
    canonical = json.dumps(
        {name: members[name] for name in required}, separators=(",", ":"), sort_keys=True
    )
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def key_url(base_url: str, thumbprint: str) -> str:
    """The URL that serves one public key; used as the JWS ``kid``."""
    return f"{base_url.rstrip('/')}/keys/{thumbprint}"


def public_jwk(key: SigningKey, base_url: str) -> dict[str, str]:
    """The public half of ``key`` as a JWK, with alg, use and kid (its URL)."""
    _, members = _required_members(key.private_pem)
    return {
        **members,
        "alg": key.alg,
        "use": "sig",
        "kid": key_url(base_url, key.thumbprint),
    }


def generate_key(alg: Alg, *, now: datetime | None = None) -> SigningKey:
    """A new private key in memory (not stored)."""
    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    else:
        raise ValueError(f"unsupported signing algorithm {alg!r}")
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _, members = _required_members(pem)
    created = (now or datetime.now(UTC)).astimezone(UTC)
    return SigningKey(
        thumbprint=jwk_thumbprint(members), alg=alg, private_pem=pem, created_at=created
    )


def _write_atomically(path: Path, data: bytes) -> None:
    """Write via a private temp file and rename, so readers never see a half-written file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        # The umask can only narrow the mode; fchmod makes it exactly 0600 whatever it is.
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename durable; some filesystems refuse to open a directory, which is harmless.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class KeyStore:
    """Signing keys in ``directory``; every call re-reads it so all hosts see rotations."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    # -- reading ---------------------------------------------------------------------------

    def keys(self) -> list[SigningKey]:
        """All stored keys, oldest first."""
        if not self.directory.is_dir():
            return []
        found: list[SigningKey] = []
        for path in self.directory.iterdir():
            match = _KEY_FILE_RE.fullmatch(path.name)
            if match is None:
                continue
            found.append(self._load(path, match))
        found.sort(key=lambda k: (k.created_at, k.thumbprint))
        return found

    def find(self, thumbprint: str) -> SigningKey | None:
        """The stored key with this RFC 7638 thumbprint, if any."""
        for path in self._key_paths(thumbprint):
            match = _KEY_FILE_RE.fullmatch(path.name)
            if match is not None:
                return self._load(path, match)
        return None

    def current(self) -> SigningKey:
        """The key that signs new certificates; raises KeyStoreError if there is none."""
        key = self._find_current()
        if key is None:
            raise KeyStoreError(f"no signing key in {self.directory}; run `lms keys rotate`")
        return key

    def jwks(self, base_url: str) -> dict[str, list[dict[str, str]]]:
        """The JWK Set of every stored key's public half, oldest first."""
        return {"keys": [public_jwk(key, base_url) for key in self.keys()]}

    def public_jwk(self, key: SigningKey, base_url: str) -> dict[str, str]:
        """The public JWK of ``key`` with kid = its key URL."""
        return public_jwk(key, base_url)

    # -- writing ---------------------------------------------------------------------------

    def ensure(self) -> SigningKey:
        """The current key, creating an ES256 key first if the directory has none."""
        key = self._find_current()
        if key is not None:
            return key
        with self._locked():
            # Another process may have created the key while this one waited for the lock.
            key = self._find_current()
            if key is not None:
                return key
            return self._add_and_make_current(generate_key("ES256"))

    def rotate(self, alg: Alg = "ES256") -> SigningKey:
        """Make a new current key; the old ones stay so their certificates keep verifying."""
        with self._locked():
            return self._add_and_make_current(generate_key(alg))

    # -- internals -------------------------------------------------------------------------

    def _key_paths(self, thumbprint: str) -> list[Path]:
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", thumbprint) or not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(f"key-*-{thumbprint}.pem"))

    def _load(self, path: Path, match: re.Match[str]) -> SigningKey:
        try:
            pem = path.read_bytes()
            alg, members = _required_members(pem)
        except (OSError, ValueError, TypeError) as exc:
            # The message names the file only: key material must never reach a log.
            raise KeyStoreError(f"cannot read signing key file {path.name}") from exc
        thumbprint = jwk_thumbprint(members)
        if thumbprint != match.group(2):
            raise KeyStoreError(f"signing key file {path.name} does not match its thumbprint")
        created = datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC)
        return SigningKey(thumbprint=thumbprint, alg=alg, private_pem=pem, created_at=created)

    def _find_current(self) -> SigningKey | None:
        pointer = self.directory / CURRENT_FILE
        try:
            thumbprint = pointer.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            thumbprint = ""
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyStoreError(f"cannot read {pointer}") from exc
        if thumbprint:
            key = self.find(thumbprint)
            if key is None:
                raise KeyStoreError(f"{pointer} names a key that is not in {self.directory}")
            return key
        # No pointer (e.g. a mounted secret holding just the key files): the newest key signs.
        stored = self.keys()
        return stored[-1] if stored else None

    def _add_and_make_current(self, key: SigningKey) -> SigningKey:
        stamp = key.created_at.strftime(_STAMP)
        _write_atomically(self.directory / f"key-{stamp}-{key.thumbprint}.pem", key.private_pem)
        _write_atomically(self.directory / CURRENT_FILE, f"{key.thumbprint}\n".encode("ascii"))
        # Round-trip through the file so the returned key is exactly what other hosts will load.
        stored = self.find(key.thumbprint)
        if stored is None:
            raise KeyStoreError(f"signing key vanished from {self.directory} after writing")
        return stored

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if not self.directory.exists():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkdir's mode is narrowed by the umask but never widened; make it exactly 0700.
            os.chmod(self.directory, 0o700)
        try:
            fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise KeyStoreError(f"cannot write to the key directory {self.directory}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
