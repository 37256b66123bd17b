"""One definition of coverage (issue 17 point 9): the unit manager's box and worklist, the
coverage page, its API, the comparison's column and the provider page give the same counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tests.results.conftest import People, page_tables
from utfall.followups import queries
from utfall.organisations.models import Unit
from utfall.views import unit_coverage_box

pytestmark = pytest.mark.django_db

#: The second half of 2025: the worklist's period when "today" is its last day.
TODAY = dt.date(2025, 12, 31)
PERIOD = "date_from=2025-07-01&date_to=2025-12-31"


def test_the_box_the_page_the_api_the_comparison_and_the_provider_page_agree(
    client: Client, people: People
) -> None:
    # A manager of every unit: the worklist's coverage then covers the whole municipality.
    people.manager.units.set(Unit.objects.filter(municipality=people.manager.municipality))
    start, _rows, total = queries.coverage(people.manager, today=TODAY)
    assert start == dt.date(2025, 7, 1)
    assert total.ongoing > total.followed_up > 0
    box = unit_coverage_box(people.manager, TODAY)
    assert box is not None
    assert dict(box.figures)["Saknar uppföljning"] == str(total.missing)

    client.force_login(people.analyst)
    page = page_tables(client.get(f"/resultat/uppfoljningsgrad/?by=unit&{PERIOD}").content.decode())
    units = page["tackning_unit"]
    assert sum(int(r["ongoing_n"]) for r in units) == total.ongoing
    assert sum(int(r["followed"]) for r in units) == total.followed_up
    assert sum(int(r["missing"]) for r in units) == total.missing

    api = client.get(f"/api/v1/coverage?by=unit&{PERIOD}").json()
    api_rows = api["tables"]["tackning"]["rows"]
    assert sum(r["ongoing_n"] for r in api_rows) == total.ongoing
    assert sum(r["missing"] for r in api_rows) == total.missing

    by_provider = {
        r["group"]: r
        for r in client.get(f"/api/v1/coverage?by=provider&{PERIOD}").json()["tables"]["tackning"]["rows"]
    }
    assert by_provider["F"]["ongoing_n"] == 40 and by_provider["F"]["missing"] > 0
    comparison = {
        r["group"]: r
        for r in page_tables(
            client.get(f"/resultat/jamforelse/?indicator=satisfied&{PERIOD}").content.decode()
        )["jamforelse"]
    }
    html_coverage = {
        r["group"]: r for r in page_tables(
            client.get(f"/resultat/uppfoljningsgrad/?by=provider&{PERIOD}").content.decode()
        )["tackning_provider"]
    }  # fmt: skip
    shown = [g for g, r in comparison.items() if r["coverage"] != "dold"]
    assert len(shown) >= 3
    for group in shown:
        assert comparison[group]["coverage"] == html_coverage[group]["coverage"] != "–"
    provider_page = page_tables(
        client.get(f"/resultat/utforare/F/?indicator=satisfied&{PERIOD}").content.decode()
    )
    row = next(
        r for r in provider_page["utforare_F"] if r["name"].startswith("Pågående insatser som följts upp")
    )
    assert int(row["n"]) == by_provider["F"]["ongoing_n"]
    assert row["rate"] == html_coverage["F"]["coverage"]


def test_coverage_per_caseworker_has_figures(client: Client, people: People) -> None:
    """An intervention belongs to whoever recorded its latest follow-up; the rest have none."""
    from utfall.followups.models import FollowUp

    FollowUp.objects.filter(intervention__provider__provider_id="B").update(created_by=people.caseworker)
    people.manager.units.set(Unit.objects.filter(municipality=people.manager.municipality, code="sodermalm"))
    client.force_login(people.manager)
    rows = {
        r["name"]: r
        for r in page_tables(
            client.get(f"/resultat/uppfoljningsgrad/?by=caseworker&{PERIOD}").content.decode()
        )["tackning_caseworker"]
    }
    mine = rows["handl"]
    assert int(mine["ongoing_n"]) == 30  # B's 30 followed-up interventions (its 12 ended ones have none)
    assert mine["coverage"] != "–" and int(mine["missing"]) == 30 - int(mine["followed"])
    assert int(rows["ingen (aldrig uppföljd eller importerad)"]["ongoing_n"]) > 0
