"""The read API gives the pages' numbers, with the pages' access rule."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tests.procurement.conftest import People
from utfall.procurement import payment
from utfall.procurement.results import contract_results
from utfall.registry.models import Contract

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_contracts_results_and_statements(people: People) -> None:
    client = signed_in(people.procurement)
    listed = client.get("/api/v1/contracts").json()["contracts"]
    first = next(c for c in listed if c["contract_id"] == "C-A")
    assert (
        first["extension_options"] == [12, 12]
        and first["price"] == "3000.00"
        and first["price_unit"] == "day"
    )
    assert {t["indicator"] for t in first["targets"]} == {"step_down", "plan_goals_fully"}
    answer = client.get("/api/v1/contracts/C-A/results?from=2025-01-01&to=2025-12-31").json()
    contract = Contract.objects.get(contract_id="C-A")
    assert answer["rows"] == contract_results(contract, dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    bad = client.get("/api/v1/contracts/C-A/results?from=2025-13-01")
    assert bad.status_code == 400 and bad.json()["errors"][0]["pointer"] == "/from"
    statement = payment.draft_statement(
        contract, dt.date(2025, 1, 1), dt.date(2025, 12, 31), people.procurement
    )
    body = client.get(f"/api/v1/statements/{statement.pk}").json()
    assert body["total"] == "277200" and body["rules"][0]["evidence"] == {"counted": 20, "with_outcome": 16}
    assert "pseudonym" not in str(body) and "rows" not in body["compensation"]
    # A provider reaches its own contract's results, not another's; never the list.
    provider = signed_in(people.provider_b)
    assert provider.get("/api/v1/contracts/C-B/results").status_code == 200
    assert provider.get("/api/v1/contracts/C-A/results").status_code == 404
    assert provider.get("/api/v1/contracts").status_code == 403
