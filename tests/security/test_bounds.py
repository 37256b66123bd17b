"""Bodies over the limit get 413 before they are read; nothing is stored."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from utfall.followups.models import FollowUp

pytestmark = pytest.mark.django_db


def test_an_api_body_over_the_limit_gets_413_and_stores_nothing(client: Client, world, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client.force_login(world.caseworker)
    body = json.dumps({"intervention_id": "I-OVERDUE", "respondent": "client", "status": "declined",
                       "padding": "x" * 20_000})  # fmt: skip
    response = client.post("/api/v1/followups", body, content_type="application/json",
                           headers={"Idempotency-Key": "k1"})  # fmt: skip
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert "x" * 100 not in response.content.decode()
    assert FollowUp.objects.count() == 0


def test_a_form_body_over_the_limit_gets_413(client: Client, world, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client.force_login(world.caseworker)
    response = client.post(
        f"/uppfoljningar/ny/{world.interventions['overdue'].pk}/", {"reason": "x" * 20_000}
    )
    assert response.status_code == 413


def test_errors_never_echo_what_was_sent(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.analyst)
    sent = "<script>19660808-6549"
    for query in (f"indicator={sent}&from=2026-01-01&to=2026-06-30",
                  f"indicator=satisfied&from=2026-01-01&to=2026-06-30&filter={sent}",
                  f"indicator=satisfied&from=2026-01-01&to=2026-06-30&filter=colour={sent}"):  # fmt: skip
        response = client.get(f"/api/v1/comparisons?{query}")
        assert response.status_code == 400, query
        assert "19660808" not in response.content.decode() and "<script>" not in response.content.decode()


@pytest.mark.parametrize("path", ["/api/v1/followups", "/api/v1/interventions"])
def test_a_huge_offset_is_a_clear_422_not_a_500(client: Client, world, path: str) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    response = client.get(f"{path}?offset=12345678901234567890&limit=5")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert "12345678901234567890" not in response.content.decode()
    assert client.get(f"{path}?offset=10000000").status_code == 200


def test_a_nul_character_in_any_text_gets_422_and_stores_nothing(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    """Schemathesis found it on PostgreSQL: a NUL in a text field ended in a 500 there (its text
    columns cannot hold NUL) while SQLite stored it. Both databases now refuse it alike."""
    from utfall.registry.models import Intervention

    client.force_login(world.manager)
    before = Intervention.objects.count()
    body = {"intervention_id": "I-N\x00UL", "person_id": "", "service": "hvb_barn",
            "provider_id": "P1", "unit": "u", "started_on": "2026-01-05", "decided_on": "2026-01-02"}  # fmt: skip
    response = client.post("/api/v1/interventions", json.dumps(body), content_type="application/json",
                           headers={"Idempotency-Key": "nul-1"})  # fmt: skip
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == [{"pointer": "/intervention_id", "detail": "otillåtet tecken (NUL)"}]
    assert Intervention.objects.count() == before
    response = client.get("/api/v1/followups?intervention_id=A%00B")
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/intervention_id"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/resultat/utforare/P%00/", 404),  # a 500 on PostgreSQL before
        ("/api/v1/providers/P%00", 404),
        ("/resultat/uppfoljningsgrad/?unit=%00", 400),
        ("/uppfoljningar/?q=%00", 400),
        ("/resultat/jamforelse/?indicator=satisfied&provider=%00", 400),
        ("/api/v1/comparisons?indicator=satisfied&unit=%00", 422),
    ],
)
def test_a_nul_in_the_address_or_a_filter_is_refused_before_any_view(
    client: Client, world, url: str, status: int
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.analyst)
    response = client.get(url)
    assert response.status_code == status
    assert "otillåtet tecken" in response.content.decode() or status == 404
