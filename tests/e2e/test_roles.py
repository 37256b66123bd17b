"""Every role's first steps in a real browser at 1280 and 375 px, axe-core on every page
(issue 17): the start page per role, the history's search, ending an intervention, the
printable follow-up, and the analyst's results. Screenshots land in var/screenshots/."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Journey
from tests.e2e.test_journey import PASSWORD, sign_in
from tests.followups.helpers import post_followup
from tests.personas import World
from utfall.followups.models import FollowUp

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 375])
def test_each_role_walks_its_pages(live_server, browser, world: World, client, width: int) -> None:  # type: ignore[no-untyped-def]
    for user in (world.caseworker, world.manager, world.analyst):
        user.set_password(PASSWORD)
        user.save()
    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"])
    followup = FollowUp.objects.get()
    item = world.interventions["ended"]

    cw = Journey(browser, live_server.url, "roll-socialsekreterare", width)
    sign_in(cw, "cw")
    cw.check("start")
    assert "Du har 1 insats att följa upp, 1 försenad." in cw.page.content()
    cw.goto("/uppfoljningar/historik/?q=overdue")
    cw.check("historik-sok")
    assert cw.page.locator("table tbody tr").count() == 1
    cw.goto(f"/uppfoljningar/{followup.pk}/")
    cw.check("uppfoljning-utskrift")
    cw.page.emulate_media(media="print")
    assert not cw.page.locator(".site-header").is_visible()
    cw.page.emulate_media(media="screen")
    # An ongoing intervention's three buttons ("Gör en uppföljning", "Ändra", "Avsluta") wrap at 375 px
    # (the walk of 2026-12-02 found the page 644 px wide).
    cw.goto(f"/insatser/{world.interventions['overdue'].pk}/")
    cw.check("insats")
    fits(cw)
    cw.goto(f"/insatser/{item.pk}/andra/")
    cw.check("andra-insats")
    cw.goto("/insatser/ny/")
    cw.check("ny-insats")
    cw.close()

    manager = Journey(browser, live_server.url, "roll-enhetschef", width)
    sign_in(manager, "manager")
    manager.check("start")
    assert "Uppföljningsgrad i enheten" in manager.page.content()
    manager.close()

    analyst = Journey(browser, live_server.url, "roll-utredare", width)
    sign_in(analyst, "analyst")
    analyst.check("start")
    assert "Jämförelse av utförare" in analyst.page.content()
    analyst.page.get_by_role("link", name="Jämförelse av utförare").click()
    analyst.page.wait_for_url("**/resultat/jamforelse/**")
    analyst.check("jamforelse")
    analyst.close()


def fits(j: Journey) -> None:
    """Nothing makes the page wider than the window (tables scroll inside their own frame)."""
    width = j.page.evaluate("document.documentElement.scrollWidth")
    assert width <= j.width, f"{j.page.url}: {width} px wide in a {j.width} px window"


@pytest.mark.parametrize("width", [1280, 375])
def test_procurement_provider_and_board_walk_their_pages(
    live_server, browser, world: World, width: int
) -> None:  # type: ignore[no-untyped-def]
    """The rest of issue 17's walk: every page each of these roles reaches from its start page,
    axe-clean and within the window, and the start page a way in for each."""
    from django.contrib.auth.models import Group

    from utfall.organisations.models import Committee, Role, User

    provider = User.objects.create_user("lev", municipality=world.municipality, provider=world.provider)
    provider.groups.add(Group.objects.get(name=Role.PROVIDER))
    board = User.objects.create_user("namnd", municipality=world.municipality)
    board.groups.add(Group.objects.get(name=Role.BOARD))
    Committee.objects.create(municipality=world.municipality, code="sn", name="Socialnämnden").members.add(
        board
    )
    for user in (world.procurement, world.manager, provider, board):
        user.set_password(PASSWORD)
        user.save()

    walks = {
        "upphandlare": (
            "procurement",
            ["/avtal/", "/avtal/kostnad-per-gott-utfall/", "/resultat/jamforelse/"],
        ),
        "utforare": ("lev", [f"/resultat/utforare/{world.provider.provider_id}/"]),
        "namnd": ("namnd", ["/rapporter/"]),
        "enhetschef": ("manager", ["/uppfoljningar/", "/resultat/uppfoljningsgrad/?by=caseworker"]),
    }
    for name, (username, paths) in walks.items():
        j = Journey(browser, live_server.url, f"roll-{name}", width)
        sign_in(j, username)
        j.check("start")
        fits(j)
        for i, path in enumerate(paths):
            j.goto(path)
            j.check(f"sida-{i}")
            assert "Ingen behörighet" not in j.page.title(), path
            fits(j)
        j.close()


def test_the_difference_between_women_and_men_is_on_screen_at_1280(
    live_server, browser, world: World
) -> None:  # type: ignore[no-untyped-def]
    world.analyst.set_password(PASSWORD)
    world.analyst.save()
    j = Journey(browser, live_server.url, "kvinnor-och-man", 1280)
    sign_in(j, "analyst")
    j.goto("/resultat/kvinnor-och-man/?indicator=satisfied")
    j.check("kvinnor-och-man")
    for table in ("table-kvinnor_man_totalt", "table-kvinnor_man_insats"):
        heading = j.page.locator(f"#{table} thead th", has_text="Skillnad").first
        box = heading.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1280, (table, box)
    # The whole first table is on screen, its last column too: its frame does not scroll.
    frame = j.page.locator("#table-kvinnor_man_totalt").locator("xpath=..")
    assert frame.evaluate("e => e.scrollWidth <= e.clientWidth"), frame.evaluate(
        "e => [e.scrollWidth, e.clientWidth]"
    )
    last = j.page.locator("#table-kvinnor_man_totalt thead th").last.bounding_box()
    assert last is not None and last["x"] + last["width"] <= 1280, last
    # A children's instrument: girls and boys.
    j.goto("/resultat/kvinnor-och-man/?indicator=cy_feels_safe")
    assert "Skillnad flickor − pojkar" in j.page.content()
    j.close()
