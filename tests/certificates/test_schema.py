"""Built credentials validate against 1EdTech's published OB 3.0 JSON Schema, offline."""

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft201909Validator, FormatChecker
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from tests.certificates import BASE_URL, NOW, make_credential

SCHEMA_PATH = (
    Path(__file__).resolve().parents[1] / "data" / "ob_v3p0_achievementcredential_schema.json"
)
# Pinned: a changed copy must be a deliberate update, checked against shared/schemas/.
SCHEMA_SHA256 = "5753fb3ecf7d024ed273dd364bd683f483eb47257e718e6618832cf89eb2083a"


def refuse_to_fetch(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # never go to the network for a $ref


def date_time(value: object) -> bool:
    # jsonschema checks "date-time" only with an optional package; this keeps the check offline.
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


@pytest.fixture(scope="module")
def validator() -> Draft201909Validator:
    raw = SCHEMA_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256
    schema = json.loads(raw)
    assert schema["$schema"].startswith("https://json-schema.org/draft/2019-09/schema")
    Draft201909Validator.check_schema(schema)
    checker = FormatChecker()
    checker.checks("date-time")(date_time)
    registry: Registry[Any] = Registry(retrieve=refuse_to_fetch).with_resource(
        schema["$id"], Resource.from_contents(schema)
    )
    return Draft201909Validator(schema, registry=registry, format_checker=checker)


def errors(validator: Draft201909Validator, instance: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"valid_until": None},
        {"ce_hours": 1},
        {"ce_hours": 0.25, "learner_name": "王小明"},
        {"extra_subject": {"licenseNumber": "RN-123456", "role": "Registered Nurse"}},
    ],
)
def test_built_credential_validates_against_the_ob30_schema(
    validator: Draft201909Validator, overrides: dict[str, Any]
) -> None:
    assert errors(validator, make_credential(**overrides)) == []


def test_credential_has_the_contract_shape() -> None:
    credential = make_credential()
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["id"] == f"{BASE_URL}/verify/KAT-7F3K-9QX2"
    assert credential["issuer"]["id"] == f"{BASE_URL}/issuer"
    assert credential["validFrom"] == "2025-03-01T12:00:00Z"
    assert credential["validUntil"] == (NOW + timedelta(days=730)).strftime("%Y-%m-%dT%H:%M:%SZ")
    subject = credential["credentialSubject"]
    assert subject["name"] == subject["identifier"][0]["identityHash"]
    assert subject["creditsEarned"] == 2.5
    assert subject["achievement"]["creditsAvailable"] == 2.5
    assert subject["achievement"]["version"] == "3"
    assert credential["credentialStatus"] == {
        "id": f"{BASE_URL}/status/1#42",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "42",
        "statusListCredential": f"{BASE_URL}/status/1",
    }


def test_validator_catches_a_broken_credential(validator: Draft201909Validator) -> None:
    # Guards the test itself: a validator that accepted anything would prove nothing.
    credential = make_credential()
    del credential["credentialSubject"]["achievement"]["criteria"]
    credential["validFrom"] = "yesterday"
    credential["type"] = ["VerifiableCredential"]
    found = " ".join(errors(validator, credential))
    assert "criteria" in found
    assert "date-time" in found
    assert "['type']: ['VerifiableCredential'] does not contain" in found


def test_extra_subject_may_not_replace_core_fields() -> None:
    with pytest.raises(ValueError, match="achievement"):
        make_credential(extra_subject={"achievement": {}})


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        make_credential(valid_from=datetime(2025, 1, 1))  # noqa: DTZ001
