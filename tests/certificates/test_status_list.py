import base64
import gzip
import json
from typing import Any

import pytest

from app.certificates.keys import KeyStore
from app.certificates.signing import sign_credential, verify_token
from app.certificates.status_list import (
    MIN_SIZE,
    StatusListError,
    build_status_list_credential,
    decode_status_list,
    encode_status_list,
    is_revoked,
)
from tests.certificates import BASE_URL, NOW, STATUS_LIST_URL

# The empty 16 KiB list from the W3C Bitstring Status List v1.0 examples (another encoder).
SPEC_EMPTY_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


def test_encoded_list_is_multibase_base64url_gzip_without_padding() -> None:
    encoded = encode_status_list([])
    assert encoded.startswith("u")
    assert "=" not in encoded
    assert set(encoded[1:]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=="))
    assert raw == bytes(MIN_SIZE // 8)


def test_revoked_indexes_read_back_and_others_do_not() -> None:
    revoked = {0, 7, 8, 42, 1000, MIN_SIZE - 1}
    encoded = encode_status_list(revoked)
    for index in revoked:
        assert is_revoked(encoded, index)
    for index in (1, 6, 9, 41, 43, 999, MIN_SIZE - 2):
        assert not is_revoked(encoded, index)


def test_index_zero_is_the_leftmost_bit_of_the_first_byte() -> None:
    raw = decode_status_list(encode_status_list([0, 15]))
    assert raw[0] == 0b1000_0000
    assert raw[1] == 0b0000_0001


def test_encoding_is_deterministic() -> None:
    assert encode_status_list([3, 5]) == encode_status_list([5, 3])


def test_the_spec_example_list_decodes_as_all_valid() -> None:
    assert decode_status_list(SPEC_EMPTY_LIST) == bytes(MIN_SIZE // 8)
    assert not is_revoked(SPEC_EMPTY_LIST, 0)


def test_bad_sizes_and_indexes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        encode_status_list([], size=1024)
    with pytest.raises(ValueError, match="outside"):
        encode_status_list([MIN_SIZE])
    with pytest.raises(ValueError, match="outside"):
        encode_status_list([-1])
    with pytest.raises(StatusListError, match="outside"):
        is_revoked(encode_status_list([]), MIN_SIZE)


@pytest.mark.parametrize(
    "bad", ["", "zABC", "u!!!!", "u" + base64.urlsafe_b64encode(b"plain").decode()]
)
def test_malformed_lists_raise_status_list_error(bad: str) -> None:
    with pytest.raises(StatusListError):
        decode_status_list(bad)


def test_status_list_credential_is_signed_and_verifies(tmp_path: Any) -> None:
    store = KeyStore(tmp_path / "keys")
    key = store.ensure()
    encoded = encode_status_list([42])
    credential = build_status_list_credential(
        base_url=BASE_URL,
        list_url=STATUS_LIST_URL,
        issuer_name="Kestrel Continuing Education",
        encoded_list=encoded,
        valid_from=NOW,
    )
    assert credential["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert credential["credentialSubject"] == {
        "id": f"{STATUS_LIST_URL}#list",
        "type": "BitstringStatusList",
        "statusPurpose": "revocation",
        "encodedList": encoded,
    }
    token = sign_credential(credential, key, base_url=BASE_URL, issued_at=NOW)
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert payload["sub"] == f"{STATUS_LIST_URL}#list"
    assert payload["jti"] == STATUS_LIST_URL
    result = verify_token(token, store.jwks(BASE_URL), now=NOW)
    assert result.valid, result.reason
    assert result.credential is not None
    assert is_revoked(result.credential["credentialSubject"]["encodedList"], 42)
