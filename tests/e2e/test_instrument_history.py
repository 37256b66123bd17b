"""Issue 10 point 7 in a real browser, at 1280 and 375 px with axe-core: a draft whose q3 is
reworded substantively shows the history each indicator loses, refuses to publish until
confirmed, and the results page then offers version 1's series."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.e2e.conftest import Journey
from tests.e2e.test_journey import PASSWORD, sign_in, submit
from tests.followups.helpers import post_followup
from tests.instruments.helpers import make_admin
from tests.personas import World
from utfall.instruments import services
from utfall.instruments.loading import definition_of
from utfall.instruments.models import InstrumentVersion

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 375])
def test_the_lost_history_is_shown_and_confirmed_before_publishing(
    live_server, browser, world: World, width: int
) -> None:  # type: ignore[no-untyped-def]
    caseworker = Client()
    caseworker.force_login(world.caseworker)
    assert post_followup(caseworker, world.interventions["overdue"]).status_code == 302
    v1 = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=1)
    draft = services.new_version(instrument=v1.instrument)
    q3 = next(q for q in definition_of(draft)["questions"] if q["code"] == "q3")
    services.save_question(version=draft, original="q3",
                           question={**q3, "text": "Är du nöjd?", "change": "substantive"})  # fmt: skip
    admin = make_admin(world.municipality, "admin")
    admin.set_password(PASSWORD)
    admin.save()
    j = Journey(browser, live_server.url, "historik", width)
    sign_in(j, "admin")
    j.goto(f"/instrument/stockholm-2021/{draft.version}/")
    assert "Historik som inte längre jämförs när versionen publiceras" in j.page.content()
    j.check("utkast-med-forlorad-historik")
    submit(j, "Publicera versionen")
    assert "Bekräfta att du har sett det." in j.page.content()
    j.check("publicera-obekraftad")
    j.page.locator("#id_confirm_loss").check()
    submit(j, "Publicera versionen")
    assert "Versionen är publicerad och kan inte längre ändras." in j.page.content()
    j.close()
