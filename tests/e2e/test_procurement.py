"""The procurement officer's and the provider's journeys in a real browser (issue 12).

Procurement: contracts expiring within a year → a contract → its results against the targets →
simulate a rule → compute and approve a statement → download it. Provider: signs in, sees its
results against the municipality's level, reports its own figures. Every page is checked with
axe-core (WCAG 2.1 A/AA) and saved as a screenshot (1280 and 375 px) in var/screenshots/.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.e2e.conftest import Journey
from tests.procurement.conftest import People, market, people  # noqa: F401
from utfall.procurement.models import ProviderReport, Statement, StatementStatus
from utfall.registry.models import Contract

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "ett-langt-losenord-for-test"


def sign_in(j: Journey, username: str) -> None:
    j.goto("/logga-in/")
    j.page.fill("#id_username", username)
    j.page.fill("#id_password", PASSWORD)
    j.page.keyboard.press("Enter")
    j.page.wait_for_url(j.base_url + "/")


def submit(j: Journey, button: str) -> None:
    with j.page.expect_navigation():
        j.page.get_by_role("button", name=button).click()


@pytest.mark.parametrize("width", [1280, 375])
def test_procurement_officer_and_provider(live_server, browser, people: People, width: int) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    for user in (people.procurement, people.provider_a):
        user.set_password(PASSWORD)
        user.save()
    # C-A ends within the year from today's date (whatever day the test runs).
    Contract.objects.filter(contract_id="C-A").update(valid_to=timezone.localdate() + dt.timedelta(days=200))
    Contract.objects.filter(contract_id="C-B").update(valid_to=timezone.localdate() + dt.timedelta(days=500))

    j = Journey(browser, live_server.url, "upphandlare", width)
    sign_in(j, "upphandlare")
    j.page.get_by_role("link", name="Avtal", exact=True).first.click()
    j.page.wait_for_url("**/avtal/")
    j.check("avtal")
    j.page.select_option("#id_expiring", "12")
    submit(j, "Sök")
    assert j.page.locator("table.results tbody tr").count() == 1
    j.check("avtal-inom-12-manader")
    j.page.get_by_role("link", name="C-A").click()
    j.page.wait_for_url("**/avtal/C-A/")
    assert j.page.get_by_role("heading", name="Resultat mot avtalets mål").is_visible()
    assert "Uppnått" in j.page.locator("#caption-resultat").locator("xpath=..").inner_text()
    j.check("avtal-c-a")

    j.page.get_by_role("link", name="Simulera en ersättningsregel").click()
    j.page.wait_for_url("**/simulering/")
    j.page.fill("#id_floor", "0.5")
    submit(j, "Simulera")
    assert "avtal hade fått ersättning enligt regeln" in j.page.content()
    j.check("simulering")

    j.goto("/avtal/C-A/")
    submit(j, "Beräkna avräkning")
    assert "Att betala" in j.page.content()
    j.check("avrakning-utkast")
    submit(j, "Godkänn avräkningen")
    assert Statement.objects.get(contract__contract_id="C-A").status == StatementStatus.APPROVED
    j.check("avrakning-godkand")
    with j.page.expect_download() as download:
        j.page.get_by_role("link", name="Ladda ned avräkningen (XLSX)").click()
    assert download.value.suggested_filename.endswith("_v1.xlsx")
    j.close()

    p = Journey(browser, live_server.url, "utforare", width)
    sign_in(p, "utforare-a")
    p.page.get_by_role("link", name="Våra resultat").click()
    p.page.wait_for_url("**/avtal/utforare/")
    assert p.page.get_by_role("table", name="Era resultat mot kommunens nivå").is_visible()
    p.check("utforare")
    p.page.select_option("#id_indicator", "step_down")
    p.page.fill("#id_period_from", "2025-01-01")
    p.page.fill("#id_period_to", "2025-12-31")
    p.page.fill("#id_events", "19")
    p.page.fill("#id_n", "20")
    submit(p, "Spara siffrorna")
    assert ProviderReport.objects.filter(provider__provider_id="A", events=19, n=20).exists()
    assert p.page.get_by_role("table", name="Era siffror bredvid kommunens").is_visible()
    p.check("utforare-egna-siffror")
    p.close()
