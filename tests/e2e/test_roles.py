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
