"""Open Badges 3.0 credentials as VC-JWT compact JWS tokens: build, sign, verify.

The token format is part of the outside contract (CONTRACT.md, "Certificate token"): the
credential's own fields at the top level of the payload plus iss/jti/sub/nbf/exp/iat, and a
header of exactly alg, kid and typ. Verification needs nothing but a JWKS, so it works offline.
"""

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from jose import jwk, jws
from jose.exceptions import JOSEError

from app.certificates.keys import SigningKey, key_url

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
ALLOWED_ALGS = ("ES256", "RS256")
HEADER_FIELDS = frozenset({"alg", "kid", "typ"})
# Registered claims that the token adds on top of the credential's own fields.
REGISTERED_CLAIMS = frozenset({"iss", "jti", "sub", "nbf", "exp", "iat"})
# A verifier's clock may run a little behind the issuing host's; without this a certificate
# checked the moment it is issued could read "not yet valid". Expiry gets no such grace.
NOT_BEFORE_LEEWAY = timedelta(seconds=60)
MAX_TOKEN_LENGTH = 64 * 1024
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason: str
    credential: dict[str, Any] | None = None
    kid: str | None = None
    expired: bool = False


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` and whole seconds, as VC validFrom/validUntil use."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """A timezone-aware datetime from an ISO 8601 string; raises ValueError otherwise."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return parsed


def _epoch(text: str) -> int:
    return int(parse_iso(text).timestamp())


def build_credential(
    *,
    base_url: str,
    code: str,
    issuer_name: str,
    learner_uuid: str,
    learner_name: str,
    course_title: str,
    course_description: str,
    criteria_narrative: str,
    achievement_id: str,
    content_version: str,
    ce_hours: float,
    valid_from: datetime,
    valid_until: datetime | None,
    status_list_url: str,
    status_index: int,
    extra_subject: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An OB 3.0 OpenBadgeCredential (VC Data Model 2.0) for one course completion."""
    base = base_url.rstrip("/")
    if status_index < 0:
        raise ValueError("status_index must not be negative")
    subject: dict[str, Any] = {
        "id": f"urn:uuid:{learner_uuid}",
        "type": ["AchievementSubject"],
        # The OB 3.0 schema leaves AchievementSubject open and the VC 2.0 context defines
        # `name`; the IdentityObject below carries the same name in OB 3.0's own vocabulary.
        "name": learner_name,
        "identifier": [
            {
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": False,
                "identityHash": learner_name,
            }
        ],
        "creditsEarned": float(ce_hours),
        "achievement": {
            "id": achievement_id,
            "type": ["Achievement"],
            "achievementType": "Course",
            "name": course_title,
            "description": course_description,
            "criteria": {"narrative": criteria_narrative},
            "creditsAvailable": float(ce_hours),
            "version": content_version,
        },
    }
    if extra_subject:
        clash = sorted(set(extra_subject) & set(subject))
        if clash:
            raise ValueError(f"extra_subject may not replace {', '.join(clash)}")
        subject.update(extra_subject)
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"{base}/verify/{code}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": f"{base}/issuer", "type": ["Profile"], "name": issuer_name},
        "validFrom": iso_utc(valid_from),
        "name": f"{course_title}: certificate of completion",
        "credentialSubject": subject,
        "credentialStatus": {
            "id": f"{status_list_url}#{status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            # Bitstring Status List v1.0 wants the index as a string.
            "statusListIndex": str(status_index),
            "statusListCredential": status_list_url,
        },
    }
    if valid_until is not None:
        credential["validUntil"] = iso_utc(valid_until)
    return credential


def _issuer_id(credential: Mapping[str, Any]) -> Any:
    issuer = credential.get("issuer")
    return issuer.get("id") if isinstance(issuer, Mapping) else issuer


def _subject_id(credential: Mapping[str, Any]) -> Any:
    subject = credential.get("credentialSubject")
    return subject.get("id") if isinstance(subject, Mapping) else None


def expected_claims(credential: Mapping[str, Any]) -> dict[str, Any]:
    """The registered claims a token must carry for this credential (all but iat)."""
    claims: dict[str, Any] = {
        "iss": _issuer_id(credential),
        "jti": credential.get("id"),
        "sub": _subject_id(credential),
        "nbf": _epoch(credential["validFrom"]),
    }
    if credential.get("validUntil") is not None:
        claims["exp"] = _epoch(credential["validUntil"])
    return claims


def sign_credential(
    credential: Mapping[str, Any], key: SigningKey, *, base_url: str, issued_at: datetime
) -> str:
    """A compact JWS (VC-JWT) of ``credential`` signed with ``key``; header is alg, kid, typ."""
    reserved = sorted(REGISTERED_CLAIMS & set(credential))
    if reserved:
        raise ValueError(f"credential already has JWT claim fields: {', '.join(reserved)}")
    claims = expected_claims(credential)
    for name in ("iss", "jti", "sub"):
        if not isinstance(claims[name], str) or not claims[name]:
            raise ValueError(f"credential has no value for the {name} claim")
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    payload = {**credential, **claims, "iat": int(issued_at.timestamp())}
    # python-jose always adds typ "JWT"; stating it here keeps the header exactly {alg, kid, typ}.
    headers = {"kid": key_url(base_url, key.thumbprint), "typ": "JWT"}
    token: str = jws.sign(
        payload, key.private_pem.decode("ascii"), headers=headers, algorithm=key.alg
    )
    return token


def _b64url_json(segment: str, what: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise _Invalid(f"token {what} is not valid base64url") from exc
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Invalid(f"token {what} is not JSON") from exc


class _Invalid(Exception):
    def __init__(self, reason: str, *, kid: str | None = None, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kid = kid
        self.expired = expired


def _key_for(header: Mapping[str, Any], jwks: Mapping[str, Any]) -> dict[str, Any]:
    kid = header["kid"]
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        raise _Invalid("the key set is not a JWKS", kid=kid)
    matches = [k for k in keys if isinstance(k, Mapping) and k.get("kid") == kid]
    if not matches:
        raise _Invalid("unknown key id", kid=kid)
    if len(matches) > 1:
        raise _Invalid("key id is not unique in the key set", kid=kid)
    key = dict(matches[0])
    alg = header["alg"]
    # The alg comes from the attacker-controlled header, so it must fit the key we hold:
    # this is what stops RS256/ES256 confusion with someone else's key.
    expected = {"EC": "ES256", "RSA": "RS256"}.get(str(key.get("kty")))
    if key.get("kty") == "EC" and key.get("crv") != "P-256":
        expected = None
    if expected is None:
        raise _Invalid("key type is not supported", kid=kid)
    if alg != expected:
        raise _Invalid(f"algorithm {alg} does not match the key type {key['kty']}", kid=kid)
    if key.get("alg", alg) != alg:
        raise _Invalid(f"algorithm {alg} does not match the key's alg", kid=kid)
    if key.get("use", "sig") != "sig":
        raise _Invalid("key is not a signing key", kid=kid)
    return key


def _check_header(header: Any) -> tuple[str, str]:
    if not isinstance(header, dict):
        raise _Invalid("token header is not a JSON object")
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    alg = header.get("alg")
    if isinstance(alg, str) and alg.lower() == "none":
        raise _Invalid("algorithm none is not accepted", kid=kid)
    extra = sorted(set(header) - HEADER_FIELDS)
    if extra:
        raise _Invalid(f"unexpected header field {', '.join(extra)}", kid=kid)
    missing = sorted(HEADER_FIELDS - set(header))
    if missing:
        raise _Invalid(f"missing header field {', '.join(missing)}", kid=kid)
    if header["typ"] != "JWT":
        raise _Invalid("header typ must be JWT", kid=kid)
    if not isinstance(alg, str) or alg not in ALLOWED_ALGS:
        raise _Invalid(f"algorithm {alg} is not accepted", kid=kid)
    if kid is None or not kid:
        raise _Invalid("header kid is not a string", kid=kid)
    return alg, kid


def _check_claims(payload: Mapping[str, Any], kid: str) -> dict[str, Any]:
    credential = {k: v for k, v in payload.items() if k not in REGISTERED_CLAIMS}
    types = credential.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise _Invalid("payload is not a verifiable credential", kid=kid)
    if not isinstance(credential.get("validFrom"), str):
        raise _Invalid("credential has no validFrom", kid=kid)
    try:
        expected = expected_claims(credential)
    except (ValueError, TypeError) as exc:
        raise _Invalid("credential validFrom or validUntil is not a timestamp", kid=kid) from exc
    field_of = {
        "iss": "issuer.id",
        "jti": "id",
        "sub": "credentialSubject.id",
        "nbf": "validFrom",
        "exp": "validUntil",
    }
    for claim, source in field_of.items():
        if claim not in payload and claim not in expected:
            continue
        if claim not in payload:
            raise _Invalid(f"claim {claim} is missing", kid=kid)
        if claim not in expected:
            raise _Invalid(f"claim {claim} has no matching {source}", kid=kid)
        value = payload[claim]
        if type(value) is not type(expected[claim]) or value != expected[claim]:
            raise _Invalid(f"claim {claim} disagrees with {source}", kid=kid)
    iat = payload.get("iat")
    if type(iat) is not int:
        raise _Invalid("claim iat is missing or not an integer", kid=kid)
    return credential


@lru_cache(maxsize=64)
def _construct(key_json: str, alg: str) -> Any:
    """The verifier for a public JWK, built once per key: building it (parsing the curve point or
    modulus) costs as much as an ECDSA verification, which matters for batches of 100."""
    return jwk.construct(json.loads(key_json), algorithm=alg)


def _verify(token: str, jwks: Mapping[str, Any], now: datetime) -> Verification:
    if not isinstance(token, str):
        raise _Invalid("token is not a string")
    token = token.strip()
    if not token:
        raise _Invalid("token is empty")
    if len(token) > MAX_TOKEN_LENGTH:
        raise _Invalid("token is too long")
    segments = token.split(".")
    if len(segments) != 3:
        raise _Invalid(f"token has {len(segments)} segments, a compact JWS has 3")
    for segment, what in zip(segments, ("header", "payload", "signature"), strict=True):
        # Python's base64 decoder silently skips foreign characters; a token must not have any.
        if not _B64URL_RE.fullmatch(segment):
            raise _Invalid(f"token {what} is not valid base64url")
    header = _b64url_json(segments[0], "header")
    alg, kid = _check_header(header)
    key = _key_for(header, jwks)
    try:
        verifier = _construct(json.dumps(key, sort_keys=True), alg)
    except (JOSEError, ValueError, TypeError, KeyError) as exc:
        raise _Invalid("the key set's key for this kid is unusable", kid=kid) from exc
    try:
        raw = jws.verify(token, verifier, algorithms=[alg])
    except JOSEError as exc:
        reason = "signature does not match"
        if "signature" not in str(exc).lower():
            reason = f"token could not be verified: {exc}"
        raise _Invalid(reason, kid=kid) from exc
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Invalid("token payload is not JSON", kid=kid) from exc
    if not isinstance(payload, dict):
        raise _Invalid("token payload is not a JSON object", kid=kid)
    credential = _check_claims(payload, kid)
    now_ts = now.timestamp()
    # RFC 7519 4.1.4: the token must not be accepted on or after its expiry time.
    if "exp" in payload and now_ts >= payload["exp"]:
        return Verification(False, "expired", credential, kid, expired=True)
    if now_ts + NOT_BEFORE_LEEWAY.total_seconds() < payload["nbf"]:
        raise _Invalid("not yet valid", kid=kid)
    return Verification(True, "valid", credential, kid)


def verify_token(token: str, jwks: Mapping[str, Any], *, now: datetime) -> Verification:
    """Check a certificate token against a JWKS alone; never raises, the reason says why not."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        return _verify(token, jwks, now)
    except _Invalid as exc:
        return Verification(False, exc.reason, None, exc.kid, exc.expired)
    except JOSEError as exc:
        return Verification(False, f"token could not be verified: {exc}")
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        # Anything else a hostile token can provoke is still an answer, not a crash.
        return Verification(False, f"token is malformed ({type(exc).__name__})")
