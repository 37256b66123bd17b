"""Point 8: who sees which aggregates, on the pages, the downloads and the read API."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.results.conftest import PERIOD, People, page_tables

pytestmark = pytest.mark.django_db

COMPARISON = f"/resultat/jamforelse/?indicator=satisfied&{PERIOD}"
PAGES = [
    COMPARISON,
    f"/resultat/utveckling/?indicator=satisfied&{PERIOD}",
    f"/resultat/kvinnor-och-man/?indicator=satisfied&{PERIOD}",
    f"/resultat/uppfoljningsgrad/?{PERIOD}",
    f"/resultat/utfallsmatt/?{PERIOD}",
    f"/resultat/utforare/B/?{PERIOD}",
    "/resultat/",
]
APIS = [
    f"/api/v1/trends?indicator=satisfied&{PERIOD}",
    f"/api/v1/gender?indicator=satisfied&{PERIOD}",
    f"/api/v1/coverage?{PERIOD}",
    f"/api/v1/outcomes?{PERIOD}",
    f"/api/v1/providers/B/results?{PERIOD}",
]


def _groups(client: Client, url: str = COMPARISON) -> set[str]:
    return {r["group"] for r in page_tables(client.get(url).content.decode())["jamforelse"]}


@pytest.mark.parametrize("who", ["analyst", "procurement"])
def test_analysts_and_procurement_see_the_whole_municipality(
    client: Client, people: People, who: str
) -> None:
    client.force_login(getattr(people, who))
    for url in [*PAGES, *APIS]:
        assert client.get(url).status_code == 200, url
    assert _groups(client) == {"A", "B", "C", "D", "E", "F", "G"}
    assert 'href="/resultat/"' in client.get("/").content.decode()  # the menu shows Resultat


def test_a_unit_manager_sees_only_their_unit(client: Client, people: People) -> None:
    client.force_login(people.manager)  # manager of bromma: providers E and G
    assert _groups(client) == {"E", "G"}
    assert client.get(COMPARISON + "&unit=sodermalm").status_code == 403
    assert client.get(f"/api/v1/trends?indicator=satisfied&unit=sodermalm&{PERIOD}").status_code == 403
    coverage = client.get(f"/api/v1/coverage?by=unit&{PERIOD}").json()["tables"]["tackning"]["rows"]
    assert [r["group"] for r in coverage] == ["bromma"]
    # A provider page shows that provider's results in the manager's unit only.
    provider = client.get(f"/api/v1/providers/E/results?indicator=satisfied&{PERIOD}").json()
    satisfied = next(r for r in provider["tables"]["indikatorer"]["rows"] if r["indicator"] == "satisfied")
    assert satisfied["n"] == 40


def test_a_provider_account_sees_only_its_own_aggregates(client: Client, people: People) -> None:
    client.force_login(people.provider)  # provider B
    assert _groups(client) == {"B"}
    assert client.get(f"/resultat/utforare/B/?{PERIOD}").status_code == 200
    assert client.get(f"/resultat/utforare/A/?{PERIOD}").status_code == 403
    assert client.get(f"/api/v1/providers/A/results?{PERIOD}").status_code == 403
    assert client.get(f"/api/v1/trends?indicator=satisfied&provider=A&{PERIOD}").status_code == 403
    assert client.get(f"/resultat/uppfoljningsgrad/?by=caseworker&{PERIOD}").status_code == 403
    coverage = client.get(f"/api/v1/coverage?by=provider&{PERIOD}").json()["tables"]["tackning"]["rows"]
    assert [r["group"] for r in coverage] == ["B"]


@pytest.mark.parametrize("who", ["caseworker", "outsider"])
def test_others_see_no_aggregates(client: Client, people: People, who: str) -> None:
    client.force_login(getattr(people, who))
    for url in PAGES:
        assert client.get(url).status_code == 403, url
    for url in APIS:
        response = client.get(url)
        assert response.status_code == 403, url
        assert response["Content-Type"] == "application/problem+json"
    assert 'href="/resultat/"' not in client.get("/").content.decode()


def test_nobody_sees_another_municipalitys_numbers(client: Client, people: People) -> None:
    client.force_login(people.foreign_analyst)
    assert _groups(client) == set()  # their own (empty) municipality, never ours
    assert client.get(f"/resultat/utforare/B/?{PERIOD}").status_code == 404
    assert client.get(f"/api/v1/providers/B/results?{PERIOD}").status_code == 404
    rows = client.get(f"/api/v1/coverage?by=provider&{PERIOD}").json()["tables"]["tackning"]["rows"]
    assert rows == []


def test_signed_out_visitors_are_sent_to_sign_in(client: Client, people: People) -> None:
    response = client.get(COMPARISON)
    assert response.status_code == 302 and response["Location"].startswith("/logga-in/")
    assert client.get(APIS[0]).status_code == 401


@pytest.mark.parametrize("who", ["procurement", "analyst"])
def test_coverage_per_named_caseworker_is_for_unit_managers_only(
    client: Client, people: People, who: str
) -> None:
    client.force_login(getattr(people, who))
    assert client.get(f"/resultat/uppfoljningsgrad/?by=caseworker&{PERIOD}").status_code == 403
    assert client.get(f"/resultat/uppfoljningsgrad/?by=caseworker&format=csv&{PERIOD}").status_code == 403
    assert client.get(f"/api/v1/coverage?by=caseworker&{PERIOD}").status_code == 403
    assert 'value="caseworker"' not in client.get(f"/resultat/uppfoljningsgrad/?{PERIOD}").content.decode()
    client.force_login(people.manager)
    assert client.get(f"/resultat/uppfoljningsgrad/?by=caseworker&{PERIOD}").status_code == 200
