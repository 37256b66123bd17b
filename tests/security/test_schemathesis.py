"""Issue 16: schemathesis against the served OpenAPI schema, authenticated with an API token,
in-process against the Django WSGI application on the test database: no operation answers
5xx, to valid (schema-conforming) or invalid (negative) input.

A bounded number of examples per operation keeps the run near a minute
(``SCHEMATHESIS_EXAMPLES`` raises it for a longer hunt)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.followups.helpers import post_followup
from tests.personas import World
from utfall.core.services import create_api_token

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))


@pytest.fixture
def api(world: World, client: Any) -> tuple[Any, dict[str, str]]:
    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"])  # something to read back
    client.logout()
    token = create_api_token(user=world.manager, name="schemathesis")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    return schema, {"Authorization": f"Bearer {token}"}


def server_errors(
    schema: Any, headers: dict[str, str], mode: GenerationMode, seen: dict[str, int]
) -> list[str]:
    found: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case: Any) -> None:
            response = case.call(headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
            key = f"{case.method} {case.path} {response.status_code}"
            seen[key] = seen.get(key, 0) + 1
            if response.status_code >= 500:
                found.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {case.as_curl_command()}"
                )

        call()
    return found


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_api_operation_answers_5xx_to_generated_requests(
    api: tuple[Any, dict[str, str]], mode: GenerationMode
) -> None:
    schema, headers = api
    assert len(list(schema.get_all_operations())) >= 10
    seen: dict[str, int] = {}
    errors = server_errors(schema, headers, mode, seen)
    assert not errors, "\n".join(errors[:20])
    # Signed in for real: the token's user was answered, not sent to sign in.
    assert not any(k.endswith(" 401") for k in seen), seen
    if mode == GenerationMode.POSITIVE:
        assert any(k.startswith("GET ") and k.endswith(" 200") for k in seen), seen
    print(sorted(seen.items()))
