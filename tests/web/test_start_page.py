"""The start page per role (issue 17 point 8): the caseworker hears what to follow up, the unit
manager sees coverage and flagged providers, the analyst where the results are."""

from __future__ import annotations

from html import unescape

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from tests.followups.helpers import post_followup
from tests.personas import World
from utfall import views

pytestmark = pytest.mark.django_db


def start(client: Client, user) -> str:  # type: ignore[no-untyped-def]
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return unescape(response.content.decode())


def test_the_caseworker_hears_how_many_to_follow_up_and_how_many_are_late(
    client: Client, world: World
) -> None:
    page = start(client, world.caseworker)
    # Norrmalm: the overdue one (240 days) and the ended one due at its end; the fresh one is not due.
    assert "Du har 2 insatser att följa upp, 2 försenade." in page
    assert "Uppföljningsgrad i enheten" not in page
    post_followup(client, world.interventions["overdue"])
    assert "Du har 1 insats att följa upp, 1 försenad." in start(client, world.caseworker)


def test_the_unit_manager_sees_the_units_coverage_with_the_count_missing(
    client: Client, world: World
) -> None:
    caseworker = Client()
    caseworker.force_login(world.caseworker)
    post_followup(caseworker, world.interventions["overdue"])
    page = start(client, world.manager)
    assert "Uppföljningsgrad i enheten" in page and "Att följa upp" in page
    # Three interventions of Norrmalm ongoing in the half-year, one followed up.
    assert "<dt>Uppföljda</dt><dd>33 %</dd>" in page
    assert "<dt>Saknar uppföljning</dt><dd>2</dd>" in page
    assert "Flaggade utförare" in page


def test_the_analyst_gets_results_not_a_worklist(client: Client, world: World) -> None:
    page = start(client, world.analyst)
    assert "Jämförelse av utförare" in page and "Flaggade utförare" in page
    assert "att följa upp" not in page.lower()


def test_each_role_has_its_own_list_of_boxes() -> None:
    assert views.BOXES["caseworker"] == [views.worklist_box]
    assert views.BOXES["unit_manager"] != views.BOXES["analyst"]


def test_the_caseworkers_own_work_comes_before_the_alerts(client: Client, world: World) -> None:
    page = start(client, world.caseworker)
    assert page.index("Att följa upp") < page.index("Larm på uppföljningar")


def test_procurement_the_provider_and_the_board_each_get_a_way_in(client: Client, world: World) -> None:
    """The walk of issue 17 found the provider's and the board's start pages empty."""
    from utfall.organisations.models import Committee, Role, User

    assert 'href="/avtal/"' in start(client, world.procurement)
    provider = User.objects.create_user("lev", municipality=world.municipality, provider=world.provider)
    provider.groups.add(Group.objects.get(name=Role.PROVIDER))
    page = start(client, provider)
    assert "Våra resultat" in page and f'href="/resultat/utforare/{world.provider.provider_id}/"' in page
    board = User.objects.create_user("namnd", municipality=world.municipality)
    board.groups.add(Group.objects.get(name=Role.BOARD))
    Committee.objects.create(municipality=world.municipality, code="sn", name="Socialnämnden").members.add(
        board
    )
    page = start(client, board)
    assert 'href="/rapporter/"' in page
    assert client.get("/rapporter/").status_code == 200
