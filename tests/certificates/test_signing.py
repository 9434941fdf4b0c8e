import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from jose import jws as jose_jws

from app.certificates.keys import KeyStore, SigningKey, generate_key, key_url
from app.certificates.signing import sign_credential, verify_token
from tests.certificates import BASE_URL, CODE, LEARNER_UUID, NOW, make_credential


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    store = KeyStore(tmp_path_factory.mktemp("keys"))
    store.ensure()
    store.rotate("RS256")
    return store


@pytest.fixture(scope="module")
def ec_key(store: KeyStore) -> SigningKey:
    return store.keys()[0]


@pytest.fixture(scope="module")
def rsa_key(store: KeyStore) -> SigningKey:
    return store.keys()[1]


@pytest.fixture(scope="module")
def jwks(store: KeyStore) -> dict[str, Any]:
    # Round-trip through JSON: a verifier gets the key set as a document, not as objects.
    return json.loads(json.dumps(store.jwks(BASE_URL)))


def sign(key: SigningKey, **overrides: Any) -> str:
    return sign_credential(make_credential(**overrides), key, base_url=BASE_URL, issued_at=NOW)


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return (
        json.loads(base64.urlsafe_b64decode(header + "==")),
        json.loads(base64.urlsafe_b64decode(payload + "==")),
    )


def jose_sign(key: SigningKey, payload: Any, headers: dict[str, Any] | None = None) -> str:
    """An attacker who holds a valid key but builds the token by hand."""
    headers = headers if headers is not None else {"kid": key_url(BASE_URL, key.thumbprint)}
    return str(jose_jws.sign(payload, key.private_pem.decode(), headers=headers, algorithm=key.alg))


# -- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["ec_key", "rsa_key"])
def test_round_trip_returns_the_credential(
    which: str, request: pytest.FixtureRequest, jwks: dict[str, Any]
) -> None:
    key: SigningKey = request.getfixturevalue(which)
    credential = make_credential()
    token = sign_credential(credential, key, base_url=BASE_URL, issued_at=NOW)
    result = verify_token(token, jwks, now=NOW + timedelta(hours=1))
    assert result.valid, result.reason
    assert result.reason == "valid"
    assert result.credential == credential
    assert result.kid == f"{BASE_URL}/keys/{key.thumbprint}"
    assert not result.expired


def test_header_is_exactly_alg_kid_typ(ec_key: SigningKey, rsa_key: SigningKey) -> None:
    for key in (ec_key, rsa_key):
        header, _ = parts(sign(key))
        assert header == {"alg": key.alg, "kid": key_url(BASE_URL, key.thumbprint), "typ": "JWT"}


def test_payload_is_the_credential_plus_registered_claims(ec_key: SigningKey) -> None:
    credential = make_credential()
    _, payload = parts(sign_credential(credential, ec_key, base_url=BASE_URL, issued_at=NOW))
    claims = {k: payload.pop(k) for k in ("iss", "jti", "sub", "nbf", "exp", "iat")}
    assert payload == credential
    assert claims == {
        "iss": f"{BASE_URL}/issuer",
        "jti": f"{BASE_URL}/verify/{CODE}",
        "sub": f"urn:uuid:{LEARNER_UUID}",
        "nbf": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(days=730)).timestamp()),
        "iat": int(NOW.timestamp()),
    }


def test_exp_is_omitted_when_the_credential_never_expires(
    ec_key: SigningKey, jwks: dict[str, Any]
) -> None:
    token = sign(ec_key, valid_until=None)
    _, payload = parts(token)
    assert "exp" not in payload
    assert "validUntil" not in payload
    assert verify_token(token, jwks, now=NOW + timedelta(days=36500)).valid


def test_sign_refuses_a_credential_that_already_has_claim_fields(ec_key: SigningKey) -> None:
    with pytest.raises(ValueError, match="jti"):
        sign_credential({**make_credential(), "jti": "x"}, ec_key, base_url=BASE_URL, issued_at=NOW)


# -- a second, independent JOSE library ----------------------------------------------------


def pyjwt_decode(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """What any third party does: pick the key by kid from the JWKS and verify."""
    kid = pyjwt.get_unverified_header(token)["kid"]
    key = pyjwt.PyJWKSet.from_dict(jwks)[kid]
    decoded: dict[str, Any] = pyjwt.decode(
        token,
        key=key.key,
        algorithms=[key.algorithm_name],
        issuer=f"{BASE_URL}/issuer",
        options={"require": ["iss", "jti", "sub", "nbf", "iat"]},
    )
    return decoded


@pytest.mark.parametrize(("first", "second"), [("ES256", "RS256"), ("RS256", "ES256")])
def test_pyjwt_verifies_with_only_the_jwks_before_and_after_rotation(
    tmp_path: Path, first: Any, second: Any
) -> None:
    store = KeyStore(tmp_path / "keys")
    store.rotate(first)
    before = sign_credential(make_credential(), store.current(), base_url=BASE_URL, issued_at=NOW)
    jwks_before = json.loads(json.dumps(store.jwks(BASE_URL)))
    assert pyjwt_decode(before, jwks_before)["jti"] == f"{BASE_URL}/verify/{CODE}"

    store.rotate(second)
    after = sign_credential(
        make_credential(code="KAT-2222-3333"), store.current(), base_url=BASE_URL, issued_at=NOW
    )
    jwks_after = json.loads(json.dumps(store.jwks(BASE_URL)))
    # Old certificates keep verifying with the published set; new ones use the new key.
    assert pyjwt_decode(before, jwks_after)["sub"] == f"urn:uuid:{LEARNER_UUID}"
    assert pyjwt_decode(after, jwks_after)["jti"].endswith("/verify/KAT-2222-3333")
    assert pyjwt.get_unverified_header(after)["alg"] == second
    with pytest.raises(KeyError):
        pyjwt_decode(after, jwks_before)
    assert verify_token(before, jwks_after, now=NOW).valid
    assert verify_token(after, jwks_after, now=NOW).valid
    assert verify_token(after, jwks_before, now=NOW).reason == "unknown key id"


def test_pyjwt_signed_token_verifies_here(ec_key: SigningKey, jwks: dict[str, Any]) -> None:
    _, payload = parts(sign(ec_key))
    token = pyjwt.encode(
        payload,
        ec_key.private_pem,
        algorithm="ES256",
        headers={"kid": key_url(BASE_URL, ec_key.thumbprint), "typ": "JWT"},
    )
    assert verify_token(token, jwks, now=NOW).valid


# -- attacks and malformed input ------------------------------------------------------------


def forge(
    header: dict[str, Any], payload: dict[str, Any], sign_with: Callable[[bytes], bytes]
) -> str:
    signing_input = f"{b64json(header)}.{b64json(payload)}"
    return f"{signing_input}.{b64url(sign_with(signing_input.encode()))}"


def test_alg_none_is_rejected(ec_key: SigningKey, jwks: dict[str, Any]) -> None:
    _, payload = parts(sign(ec_key))
    kid = key_url(BASE_URL, ec_key.thumbprint)
    for alg in ("none", "None", "NONE"):
        token = forge({"alg": alg, "kid": kid, "typ": "JWT"}, payload, lambda _: b"")
        result = verify_token(token, jwks, now=NOW)
        assert not result.valid
        assert result.reason == "algorithm none is not accepted"


@pytest.mark.parametrize("secret_form", ["pem", "jwk_json", "x"])
def test_hs256_signed_with_the_public_key_is_rejected(
    ec_key: SigningKey, rsa_key: SigningKey, jwks: dict[str, Any], secret_form: str
) -> None:
    for key in (ec_key, rsa_key):
        public = serialization.load_pem_private_key(key.private_pem, None).public_key()
        jwk = next(k for k in jwks["keys"] if k["kid"].endswith(key.thumbprint))
        secret = {
            "pem": public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            "jwk_json": json.dumps(jwk).encode(),
            "x": base64.urlsafe_b64decode(jwk.get("x", jwk.get("n", "")) + "=="),
        }[secret_form]
        _, payload = parts(sign(key))
        token = forge(
            {"alg": "HS256", "kid": jwk["kid"], "typ": "JWT"},
            payload,
            lambda data, s=secret: hmac.new(s, data, hashlib.sha256).digest(),
        )
        result = verify_token(token, jwks, now=NOW)
        assert not result.valid
        assert result.reason == "algorithm HS256 is not accepted"


def test_rs256_header_naming_an_ec_key_is_rejected(
    ec_key: SigningKey, jwks: dict[str, Any]
) -> None:
    attacker = generate_key("RS256")
    _, payload = parts(sign(ec_key))
    token = jose_sign(attacker, payload, {"kid": key_url(BASE_URL, ec_key.thumbprint)})
    result = verify_token(token, jwks, now=NOW)
    assert not result.valid
    assert result.reason == "algorithm RS256 does not match the key type EC"


def test_es256_header_naming_an_rsa_key_is_rejected(
    rsa_key: SigningKey, jwks: dict[str, Any]
) -> None:
    attacker = generate_key("ES256")
    _, payload = parts(sign(rsa_key))
    token = jose_sign(attacker, payload, {"kid": key_url(BASE_URL, rsa_key.thumbprint)})
    assert verify_token(token, jwks, now=NOW).reason == (
        "algorithm ES256 does not match the key type RSA"
    )


def test_token_signed_by_an_unknown_key_is_rejected(
    ec_key: SigningKey, jwks: dict[str, Any]
) -> None:
    attacker = generate_key("ES256")
    _, payload = parts(sign(ec_key))
    result = verify_token(jose_sign(attacker, payload), jwks, now=NOW)
    assert not result.valid
    assert result.reason == "unknown key id"


def test_foreign_key_under_a_known_kid_fails_the_signature(
    ec_key: SigningKey, jwks: dict[str, Any]
) -> None:
    attacker = generate_key("ES256")
    _, payload = parts(sign(ec_key))
    token = jose_sign(attacker, payload, {"kid": key_url(BASE_URL, ec_key.thumbprint)})
    assert verify_token(token, jwks, now=NOW).reason == "signature does not match"


@pytest.mark.parametrize(
    ("extra", "name"),
    [
        ({"jku": "https://evil.example/jwks.json"}, "jku"),
        ({"x5u": "https://evil.example/cert.pem"}, "x5u"),
        ({"crit": ["exp"]}, "crit"),
        ({"jwk": {"kty": "EC"}}, "jwk"),
        ({"b64": False}, "b64"),
    ],
)
def test_extra_header_field_is_rejected(
    ec_key: SigningKey, jwks: dict[str, Any], extra: dict[str, Any], name: str
) -> None:
    _, payload = parts(sign(ec_key))
    token = jose_sign(ec_key, payload, {"kid": key_url(BASE_URL, ec_key.thumbprint), **extra})
    result = verify_token(token, jwks, now=NOW)
    assert not result.valid
    assert result.reason == f"unexpected header field {name}"


def test_missing_header_fields_are_rejected(ec_key: SigningKey, jwks: dict[str, Any]) -> None:
    valid = sign(ec_key)
    header, _ = parts(valid)
    _, payload_b64, signature = valid.split(".")
    for missing in ("typ", "kid"):
        reduced = {k: v for k, v in header.items() if k != missing}
        token = f"{b64json(reduced)}.{payload_b64}.{signature}"
        result = verify_token(token, jwks, now=NOW)
        assert not result.valid
        assert result.reason == f"missing header field {missing}"


def test_wrong_typ_is_rejected(ec_key: SigningKey, jwks: dict[str, Any]) -> None:
    _, payload = parts(sign(ec_key))
    token = jose_sign(
        ec_key, payload, {"kid": key_url(BASE_URL, ec_key.thumbprint), "typ": "at+jwt"}
    )
    assert verify_token(token, jwks, now=NOW).reason == "header typ must be JWT"


@pytest.mark.parametrize(
    ("claim", "value", "source"),
    [
        ("jti", f"{BASE_URL}/verify/KAT-9999-9999", "id"),
        ("iss", "https://evil.example/issuer", "issuer.id"),
        ("sub", "urn:uuid:00000000-0000-0000-0000-000000000000", "credentialSubject.id"),
        ("nbf", int((NOW - timedelta(days=1)).timestamp()), "validFrom"),
        ("exp", int((NOW + timedelta(days=9999)).timestamp()), "validUntil"),
        ("nbf", float(int(NOW.timestamp())), "validFrom"),
    ],
)
def test_claim_disagreeing_with_the_credential_is_rejected_even_when_signed(
    ec_key: SigningKey, jwks: dict[str, Any], claim: str, value: Any, source: str
) -> None:
    _, payload = parts(sign(ec_key))
    payload[claim] = value
    result = verify_token(jose_sign(ec_key, payload), jwks, now=NOW)
    assert not result.valid
    assert result.reason == f"claim {claim} disagrees with {source}"


@pytest.mark.parametrize("claim", ["iss", "jti", "sub", "nbf", "exp", "iat"])
def test_missing_claim_is_rejected(ec_key: SigningKey, jwks: dict[str, Any], claim: str) -> None:
    _, payload = parts(sign(ec_key))
    del payload[claim]
    result = verify_token(jose_sign(ec_key, payload), jwks, now=NOW)
    assert not result.valid
    assert claim in result.reason


def test_exp_without_valid_until_is_rejected(ec_key: SigningKey, jwks: dict[str, Any]) -> None:
    _, payload = parts(sign(ec_key))
    del payload["validUntil"]
    assert verify_token(jose_sign(ec_key, payload), jwks, now=NOW).reason == (
        "claim exp has no matching validUntil"
    )


def test_tampered_payload_fails_the_signature(ec_key: SigningKey, jwks: dict[str, Any]) -> None:
    token = sign(ec_key)
    header_b64, _, signature = token.split(".")
    _, payload = parts(token)
    payload["credentialSubject"]["name"] = "Mallory"
    payload["credentialSubject"]["creditsEarned"] = 40.0
    result = verify_token(f"{header_b64}.{b64json(payload)}.{signature}", jwks, now=NOW)
    assert not result.valid
    assert result.reason == "signature does not match"


@pytest.mark.parametrize("which", ["ec_key", "rsa_key"])
def test_tampered_signature_is_rejected(
    which: str, request: pytest.FixtureRequest, jwks: dict[str, Any]
) -> None:
    token = sign(request.getfixturevalue(which))
    head, payload, signature = token.split(".")
    flipped = ("A" if signature[5] != "A" else "B").join([signature[:5], signature[6:]])
    for bad in (flipped, signature[:-8], "", "!!!"):
        result = verify_token(f"{head}.{payload}.{bad}", jwks, now=NOW)
        assert not result.valid
        assert result.reason


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "token is empty"),
        ("garbage", "token has 1 segments, a compact JWS has 3"),
        ("abc.def", "token has 2 segments, a compact JWS has 3"),
        ("a.b.c.d.e", "token has 5 segments, a compact JWS has 3"),
        ("!!!.e30.sig", "token header is not valid base64url"),
        (f"{b64url(b'hello')}.e30.sig", "token header is not JSON"),
        (f"{b64url(b'[1,2]')}.e30.sig", "token header is not a JSON object"),
        (f"{b64url(bytes([0xFF, 0xFE]))}.e30.sig", "token header is not JSON"),
        ("e30.e30.sig=", "token signature is not valid base64url"),
        ("e30.e+0.sig", "token payload is not valid base64url"),
        ("x" * 70000, "token is too long"),
    ],
)
def test_malformed_tokens_are_invalid_with_a_reason(
    jwks: dict[str, Any], token: str, reason: str
) -> None:
    result = verify_token(token, jwks, now=NOW)
    assert not result.valid
    assert result.reason == reason
    assert result.credential is None


def test_non_json_payload_with_a_good_signature_is_invalid(
    ec_key: SigningKey, jwks: dict[str, Any]
) -> None:
    token = jose_sign(ec_key, b"not json at all")
    assert verify_token(token, jwks, now=NOW).reason == "token payload is not JSON"
    token = jose_sign(ec_key, b"[1, 2, 3]")
    assert verify_token(token, jwks, now=NOW).reason == "token payload is not a JSON object"


def test_non_string_and_odd_inputs_never_raise(ec_key: SigningKey, jwks: dict[str, Any]) -> None:
    good = sign(ec_key)
    for token in (None, 12, b"bytes", good.replace(".", ". ", 1)):
        assert not verify_token(token, jwks, now=NOW).valid  # type: ignore[arg-type]
    for key_set in ({}, {"keys": "nope"}, {"keys": [1, None, "x"]}, []):
        result = verify_token(good, key_set, now=NOW)  # type: ignore[arg-type]
        assert not result.valid
        assert result.reason in {"the key set is not a JWKS", "unknown key id"}


def test_broken_jwk_in_the_set_is_a_reason_not_an_exception(
    ec_key: SigningKey, jwks: dict[str, Any]
) -> None:
    # python-jose raises JWKError (not a JWTError) for a key it cannot build.
    kid = key_url(BASE_URL, ec_key.thumbprint)
    broken = {"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "!!", "kid": kid}]}
    result = verify_token(sign(ec_key), broken, now=NOW)
    assert not result.valid
    assert result.reason == "the key set's key for this kid is unusable"


def test_duplicate_kid_in_the_key_set_is_rejected(ec_key: SigningKey, jwks: dict[str, Any]) -> None:
    doubled = {"keys": jwks["keys"] + jwks["keys"]}
    assert verify_token(sign(ec_key), doubled, now=NOW).reason == (
        "key id is not unique in the key set"
    )


def test_expired_token_is_invalid_and_flagged(ec_key: SigningKey, jwks: dict[str, Any]) -> None:
    token = sign(ec_key, valid_until=NOW + timedelta(days=30))
    assert verify_token(token, jwks, now=NOW + timedelta(days=29)).valid
    result = verify_token(token, jwks, now=NOW + timedelta(days=31))
    assert not result.valid
    assert result.expired
    assert result.reason == "expired"
    assert result.credential is not None  # so a verifier can still say whose certificate it was


def test_token_used_before_valid_from_is_invalid(ec_key: SigningKey, jwks: dict[str, Any]) -> None:
    token = sign(ec_key)
    assert verify_token(token, jwks, now=NOW - timedelta(seconds=30)).valid  # clock skew
    result = verify_token(token, jwks, now=NOW - timedelta(hours=1))
    assert not result.valid
    assert not result.expired
    assert result.reason == "not yet valid"
