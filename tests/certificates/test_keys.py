import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app.certificates.keys import KeyStore, KeyStoreError, jwk_thumbprint
from tests.certificates import BASE_URL


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_creates_one_es256_key_and_then_reuses_it(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    first = store.ensure()
    assert first.alg == "ES256"
    assert store.ensure() == first
    assert store.current() == first
    assert store.keys() == [first]


def test_key_files_are_private_and_the_directory_is_0700(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    store = KeyStore(directory)
    store.ensure()
    store.rotate("RS256")
    assert mode(directory) == 0o700
    key_files = list(directory.glob("key-*.pem"))
    assert len(key_files) == 2
    for path in [*key_files, directory / "current"]:
        assert mode(path) == 0o600, path
    assert not list(directory.glob("*.tmp"))


def test_rotate_makes_a_new_current_key_and_keeps_the_old_ones(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    first = store.ensure()
    second = store.rotate("RS256")
    third = store.rotate("ES256")
    assert store.current() == third
    assert store.keys() == [first, second, third]
    assert second.alg == "RS256"
    assert store.find(first.thumbprint) == first
    assert store.find("A" * 43) is None
    assert store.find("../../etc/passwd") is None


def test_a_second_store_on_the_same_directory_sees_a_rotation(tmp_path: Path) -> None:
    # Two app hosts mounting the same directory must switch keys together.
    host_a, host_b = KeyStore(tmp_path / "k"), KeyStore(tmp_path / "k")
    host_a.ensure()
    rotated = host_a.rotate("ES256")
    assert host_b.current() == rotated


def test_rsa_keys_are_3072_bits_and_ec_keys_p256(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    ec_jwk = store.public_jwk(store.ensure(), BASE_URL)
    rsa_jwk = store.public_jwk(store.rotate("RS256"), BASE_URL)
    assert ec_jwk["crv"] == "P-256"
    import base64

    n = base64.urlsafe_b64decode(rsa_jwk["n"] + "==")
    assert len(n) * 8 == 3072


def test_jwks_lists_public_halves_only_with_key_urls_as_kid(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    ec_key = store.ensure()
    rsa_key = store.rotate("RS256")
    jwks = store.jwks(BASE_URL + "/")
    ec_jwk, rsa_jwk = jwks["keys"]
    assert ec_jwk["kid"] == f"{BASE_URL}/keys/{ec_key.thumbprint}"
    assert set(ec_jwk) == {"kty", "crv", "x", "y", "alg", "use", "kid"}
    assert (ec_jwk["kty"], ec_jwk["alg"], ec_jwk["use"]) == ("EC", "ES256", "sig")
    assert set(rsa_jwk) == {"kty", "n", "e", "alg", "use", "kid"}
    assert (rsa_jwk["kty"], rsa_jwk["alg"], rsa_jwk["e"]) == ("RSA", "RS256", "AQAB")
    assert rsa_jwk["kid"].endswith(rsa_key.thumbprint)
    assert jwk_thumbprint(ec_jwk) == ec_key.thumbprint
    assert jwk_thumbprint(rsa_jwk) == rsa_key.thumbprint


def test_thumbprint_matches_the_rfc_7638_example() -> None:
    example = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
        "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2"
        "QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6"
        "WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert jwk_thumbprint(example) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_signing_key_repr_does_not_show_the_private_key(tmp_path: Path) -> None:
    key = KeyStore(tmp_path / "keys").ensure()
    assert b"PRIVATE KEY" in key.private_pem
    assert "PRIVATE" not in repr(key)
    assert key.private_pem.decode() not in repr(key)


def test_current_without_any_key_raises_a_clear_error(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "missing")
    assert store.keys() == []
    assert store.jwks(BASE_URL) == {"keys": []}
    with pytest.raises(KeyStoreError, match="no signing key"):
        store.current()


def test_key_files_without_a_current_pointer_use_the_newest(tmp_path: Path) -> None:
    # A mounted secret may carry only the key files.
    store = KeyStore(tmp_path / "keys")
    store.ensure()
    newest = store.rotate("ES256")
    (tmp_path / "keys" / "current").unlink()
    assert store.current() == newest
    assert store.ensure() == newest


def test_a_renamed_key_file_is_refused_rather_than_trusted(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    store = KeyStore(directory)
    key = store.ensure()
    path = next(directory.glob("key-*.pem"))
    path.rename(path.with_name(path.name.replace(key.thumbprint, "B" * 43)))
    (directory / "current").unlink()
    with pytest.raises(KeyStoreError, match="does not match its thumbprint"):
        store.keys()


def test_processes_starting_at_once_agree_on_one_first_key(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    script = (
        "import sys, time; from pathlib import Path; from app.certificates.keys import KeyStore;"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()));"
        "print(KeyStore(Path(sys.argv[1])).ensure().thumbprint)"
    )
    import time

    start = str(time.time() + 1.5)
    procs = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", script, str(directory), start],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        for _ in range(4)
    ]
    outputs = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert len(outputs) == 1
    stored = KeyStore(directory).keys()
    assert [k.thumbprint for k in stored] == list(outputs)
