"""W3C Bitstring Status List v1.0: the published list of revoked certificate indexes.

Each certificate owns one index; its bit set means revoked. The list is padded to at least
131,072 bits (the spec's minimum, 16 KiB) so that a verifier fetching it learns nothing about
which certificate it is checking, and it gzips to almost nothing while mostly zero.
"""

import base64
import binascii
import gzip
import io
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from app.certificates.signing import VC_CONTEXT, iso_utc

MIN_SIZE = 131_072
# A compressed list far larger than any real one is refused rather than inflated (gzip bomb).
MAX_DECODED_BYTES = 16 * 1024 * 1024


class StatusListError(ValueError):
    """An encoded list that is not multibase base64url GZIP, or an index outside it."""


def encode_status_list(revoked: Iterable[int], size: int = MIN_SIZE) -> str:
    """The spec's encodedList: GZIP of the bitstring, base64url without padding, prefix "u"."""
    if size < MIN_SIZE or size % 8:
        raise ValueError(f"size must be a multiple of 8 and at least {MIN_SIZE}")
    bits = bytearray(size // 8)
    for index in revoked:
        if not 0 <= index < size:
            raise ValueError(f"status index {index} is outside a list of {size} entries")
        # Spec: index 0 is the left-most (most significant) bit of the first byte.
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0 makes the output depend only on the bits, so an unchanged list encodes the same.
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_status_list(encoded: str) -> bytes:
    """The raw bitstring of an encodedList; raises StatusListError if it is not one."""
    if not encoded.startswith("u"):
        raise StatusListError("encodedList must use the multibase base64url prefix 'u'")
    body = encoded[1:]
    # Python's base64 decoder skips foreign characters silently; a list must not contain any.
    if not re.fullmatch(r"[A-Za-z0-9_-]+", body):
        raise StatusListError("encodedList is not base64url")
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise StatusListError("encodedList is not base64url") from exc
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(compressed)) as stream:
            raw = stream.read(MAX_DECODED_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise StatusListError("encodedList is not GZIP data") from exc
    if len(raw) > MAX_DECODED_BYTES:
        raise StatusListError("encodedList is too large")
    if not raw:
        raise StatusListError("encodedList is empty")
    return raw


def is_revoked(encoded: str, index: int) -> bool:
    """Whether bit ``index`` of the encoded list is set."""
    bits = decode_status_list(encoded)
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(f"status index {index} is outside the list")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def build_status_list_credential(
    *,
    base_url: str,
    list_url: str,
    issuer_name: str,
    encoded_list: str,
    valid_from: datetime,
) -> dict[str, Any]:
    """A BitstringStatusListCredential for revocation, ready for sign_credential."""
    base = base_url.rstrip("/")
    return {
        "@context": [VC_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": f"{base}/issuer", "name": issuer_name},
        "validFrom": iso_utc(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded_list,
        },
    }
