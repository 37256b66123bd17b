"""From a flag to an action, in a real browser: an analyst takes an in-depth follow-up through
every state with a document and an action plan whose deadline has passed; the unit manager
sees the overdue deadline and a "Bristande" follow-up's alert on the start page and closes the
alert. Every page is checked with axe-core (WCAG 2.1 A/AA) and saved as a screenshot in
var/screenshots/ (1280 and 375 px)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from tests.e2e.conftest import Journey
from tests.e2e.test_journey import PASSWORD, sign_in, submit
from tests.followups.helpers import form_data, post_followup
from tests.personas import World
from utfall.oversight.models import Case, CaseAction, PlanReview

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def move(j: Journey, state: str, comment: str = "") -> None:
    j.page.check(f"#state-{state}")
    if comment:
        j.page.fill("#id_comment", comment)
    submit(j, "Ändra status")


@pytest.mark.parametrize("width", [1280, 375])
def test_a_case_goes_through_every_state_and_the_manager_sees_the_deadline_and_closes_an_alert(
    live_server,
    browser,
    world: World,
    width: int,
    settings,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    settings.UTFALL_DOCUMENT_DIR = tmp_path / "documents"
    for user in (world.analyst, world.manager):
        user.set_password(PASSWORD)
        user.save()
    caseworker = Client()
    caseworker.force_login(world.caseworker)
    assert (
        post_followup(
            caseworker, world.interventions["overdue"], form_data(assessment="deficient")
        ).status_code
        == 302
    )
    today = timezone.localdate()

    j = Journey(browser, live_server.url, "oversight-analyst", width)
    sign_in(j, "analyst")
    j.page.get_by_role("link", name="Avvikelser").click()
    j.page.wait_for_url("**/avvikelser/")
    j.check("avvikelseforslag")
    j.goto("/avvikelser/prioritering/")
    j.check("prioriteringslista")
    j.goto("/fordjupade-uppfoljningar/")
    j.check("arenden")
    j.page.get_by_role("link", name="Ny fördjupad uppföljning").click()
    j.page.wait_for_url("**/ny/")
    j.check("nytt-arende")
    submit(j, "Öppna ärendet")  # empty: every error names its field
    assert j.page.locator(".error-summary").is_visible()
    j.check("nytt-arende-fel")
    j.page.select_option("#id_provider", label="Solgläntans HVB")
    j.page.fill("#id_title", "Fördjupad uppföljning av Solgläntans HVB")
    j.page.fill("#id_reason", "Tydlig avvikelse på nöjdhet två år i följd.")
    j.page.select_option("#id_owner", label="analyst")
    submit(j, "Öppna ärendet")
    case = Case.objects.get()
    assert j.page.locator("#case-state").inner_text() == "Öppen"
    j.check("arende-oppen")

    move(j, "investigating")
    assert j.page.locator("#case-state").inner_text() == "Utreds"
    j.page.set_input_files(
        "#id_file", files=[{"name": "Protokoll.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    submit(j, "Ladda upp")
    assert j.page.get_by_role("link", name="Protokoll.pdf").is_visible()
    j.page.fill("#id_text", "Besök hos utföraren bokat.")
    submit(j, "Spara anteckningen")
    j.page.locator("summary", has_text="Registrera en åtgärd").click()
    j.page.select_option("#id_kind", "action_plan")
    j.page.fill("#id_decided_on", (today - dt.timedelta(days=30)).isoformat())
    j.page.fill("#id_deadline", (today - dt.timedelta(days=1)).isoformat())  # the deadline has passed
    j.page.fill("#id_description", "Rutin för genomförandeplaner inom 14 dagar.")
    submit(j, "Registrera åtgärden")
    assert j.page.locator(".tag-overdue").first.is_visible()
    j.check("arende-forsenad-atgard")
    move(j, "action_decided")
    assert j.page.locator("#case-state").inner_text() == "Åtgärd beslutad"
    j.check("arende-atgard-beslutad")

    # The unit manager (whose unit uses the provider) sees the overdue deadline and the alert.
    m = Journey(browser, live_server.url, "oversight-manager", width)
    sign_in(m, "manager")
    assert m.page.get_by_text(f"{case.reference} Solgläntans HVB").is_visible()
    assert m.page.get_by_role("heading", name="Larm på uppföljningar (1)").is_visible()
    m.check("start-larm-och-frist")
    m.page.get_by_role("link", name="Gå igenom planen").first.click()
    m.page.wait_for_url("**/larm/**")
    m.check("larm")
    m.page.fill("#id_note", "Genomförandeplanen ändrad tillsammans med utföraren.")
    submit(m, "Planen är genomgången")
    assert m.page.get_by_role("heading", name="Larm på uppföljningar (0)").is_visible()
    m.check("start-efter-larm")
    assert PlanReview.objects.filter(reviewed_by=world.manager).count() == 1
    m.close()

    j.page.get_by_role("button", name="Markera genomförd").click()
    j.page.wait_for_load_state("load")
    assert CaseAction.objects.get().done_on == today
    move(j, "closed", "Åtgärdsplanen är genomförd.")
    assert j.page.locator("#case-state").inner_text() == "Avslutad"
    j.check("arende-avslutat")
    history = j.page.locator("ol.history li")
    assert history.count() == 8  # opened, 3 moves, document, note, action, done, closed … in order
    j.close()


@pytest.mark.parametrize("width", [1280, 375])
def test_procurement_opens_a_case_from_a_proposal_with_its_evidence(
    live_server,
    browser,
    world: World,
    width: int,
    settings,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    from tests.comparisons.builders import DataSet
    from tests.oversight.conftest import PLAN, build

    data = DataSet()
    build(data, PLAN)
    data.load(world.municipality)
    world.procurement.set_password(PASSWORD)
    world.procurement.save()
    j = Journey(browser, live_server.url, "oversight-procurement", width)
    sign_in(j, "procurement")
    j.goto("/avvikelser/?period=2025")
    assert j.page.get_by_role("heading", name="Utförare LOW998 (LOW998)").is_visible()
    j.check("avvikelseforslag-2025")
    j.goto("/avvikelser/prioritering/?period=2025&sort=volume")
    j.check("prioriteringslista-2025")
    j.goto("/avvikelser/?period=2025")
    j.page.get_by_role("link", name="Öppna fördjupad uppföljning av Utförare LOW998").click()
    j.page.wait_for_url("**/ny/**")
    j.check("nytt-arende-fran-forslag")
    submit(j, "Öppna ärendet")
    case = Case.objects.get()
    assert case.origin == "proposal" and case.evidence["rules"] == ["outside_998"]
    assert j.page.get_by_role("heading", name="Evidens när ärendet öppnades").is_visible()
    j.check("arende-fran-forslag")
    j.close()
