"""schemathesis against /openapi.json: no 5xx and responses match the published schema, for
every API operation, anonymously and with a learner token (the course imported)."""

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.content_helpers import import_tree
from tests.factories import api_token, make_user

CHECKS = [not_a_server_error, response_schema_conformance]


def _fuzz(app, headers: dict[str, str]) -> int:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/api/")
    count = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
        def run(case):  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
        count += 1
    return count


def test_api_never_errors_and_matches_its_schema(app, client, session):
    import_tree(session)
    user = make_user(session)
    session.commit()
    token = api_token(client, user.email)
    assert _fuzz(app, {}) >= 20
    assert _fuzz(app, {"Authorization": f"Bearer {token}"}) >= 20
