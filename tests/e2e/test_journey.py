"""A caseworker's day, in a real browser: sign in, worklist, three follow-ups, the history.

Every page is checked with axe-core for WCAG 2.1 A/AA and saved as a screenshot in
var/screenshots/ (desktop and 375 px).
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Journey
from tests.personas import World
from utfall.followups.models import FollowUp

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "ett-langt-losenord-for-test"


def sign_in(j: Journey, username: str) -> None:
    j.goto("/logga-in/")
    j.check("logga-in")
    j.page.fill("#id_username", username)
    j.page.fill("#id_password", PASSWORD)
    j.page.keyboard.press("Enter")
    j.page.wait_for_url(j.base_url + "/")


def submit(j: Journey, button: str) -> None:
    """Focus the button and press Enter, waiting for the answer page."""
    j.page.get_by_role("button", name=button).focus()
    with j.page.expect_navigation():
        j.page.keyboard.press("Enter")


def choose(j: Journey, name: str, value: str) -> None:
    """Pick a radio option with the keyboard: Tab into the group, arrow keys to the option."""
    radios = j.page.locator(f'input[name="{name}"]')
    values = [radios.nth(i).get_attribute("value") for i in range(radios.count())]
    radios.first.focus()  # as after Tab: the group is reached in order (checked below)
    if not radios.first.is_checked():
        j.page.keyboard.press("Space")
    for _ in range(values.index(value)):
        j.page.keyboard.press("ArrowRight")
    assert j.page.locator(f'input[name="{name}"][value="{value}"]').is_checked()


@pytest.mark.parametrize("width", [1280, 375])
def test_a_caseworker_follows_up_three_interventions_with_the_keyboard(
    live_server,
    browser,
    world: World,
    width: int,  # type: ignore[no-untyped-def]
) -> None:
    for user in (world.caseworker, world.other_unit):
        user.set_password(PASSWORD)
        user.save()
    j = Journey(browser, live_server.url, "caseworker", width)
    sign_in(j, "cw")
    j.check("start")

    # The worklist: two due, reached from the menu.
    j.page.get_by_role("link", name="Att följa upp", exact=True).click()
    j.page.wait_for_url("**/uppfoljningar/")
    j.check("att-folja-upp")
    assert j.page.locator("#worklist-results tbody tr").count() == 2
    j.page.select_option("#filter-due", "overdue")  # htmx swaps the results and keeps the URL real
    j.page.wait_for_url("**due=overdue**")
    j.check("att-folja-upp-filtrerad")

    # 1. Complete a follow-up with the keyboard only.
    j.goto("/uppfoljningar/")
    j.page.locator("a.button", has_text="Följ upp").first.click()
    j.page.wait_for_url("**/uppfoljningar/ny/**")
    j.check("formular")
    assert not j.page.locator("#group-q5").is_visible()
    choose(j, "status", "completed")
    choose(j, "respondent", "client")
    for q, value in (
        ("q1", "yes_completely"),
        ("q2", "yes_mostly"),
        ("q3", "yes_somewhat"),
        ("q4", "much_better"),
    ):
        choose(j, q, value)
    assert j.page.locator("#group-q5").is_visible()  # shown because question 4 says improved
    choose(j, "q5", "fairly_large")
    for g in ("g1", "g2", "g3"):
        choose(j, g, "yes")
    j.check("formular-ifyllt")
    choose(j, "assessment", "approved")
    if j.page.locator("#id_goals_total").count():
        j.page.locator("#id_goals_total").focus()
        j.page.keyboard.type("2")
    submit(j, "Spara uppföljningen")
    j.page.wait_for_url("**/uppfoljningar/*/")
    j.check("sparad")
    assert "Uppföljningen är sparad." in j.page.content()

    # 2. Decline one: the questions disappear.
    j.goto("/uppfoljningar/")
    j.page.locator("a.button", has_text="Följ upp").first.click()
    j.page.wait_for_url("**/uppfoljningar/ny/**")
    choose(j, "status", "declined")
    assert not j.page.locator("#group-q1").is_visible()
    j.check("avbojd")
    submit(j, "Spara uppföljningen")
    j.page.wait_for_url("**/uppfoljningar/*/")

    # A validation error on the correction keeps the answers and names the field.
    completed = FollowUp.objects.get(status="completed")
    j.goto(f"/uppfoljningar/{completed.pk}/ratta/")
    j.check("ratta")
    choose(j, "q3", "no")
    submit(j, "Spara rättelsen")
    assert j.page.locator("#error-summary").is_visible()
    assert j.page.evaluate("document.activeElement.id") == "error-summary"
    assert j.page.locator('input[name="q3"][value="no"]').is_checked()
    j.check("ratta-fel")

    # 3. Correct it with a reason.
    j.page.locator("#id_reason").focus()
    j.page.keyboard.type("Klienten menade 'Nej' på fråga 3.")
    submit(j, "Spara rättelsen")
    j.page.wait_for_url(f"**/uppfoljningar/{completed.pk}/")
    j.check("rattad")
    assert "Version 1" in j.page.content() and "Klienten menade" in j.page.content()

    # All three in the history.
    j.page.get_by_role("link", name="Historik").click()
    j.page.wait_for_url("**/historik/")
    j.check("historik")
    rows = j.page.locator("table tbody tr")
    assert rows.count() == 2
    text = rows.all_inner_texts()
    assert any("Klienten avböjde" in t for t in text) and any("rättad" in t for t in text)
    assert FollowUp.objects.count() == 2 and FollowUp.objects.get(pk=completed.pk).version == 2
    # The intervention page lists its follow-up with its version.
    j.goto(f"/insatser/{completed.intervention_id}/")
    j.check("insats")
    j.close()

    # A caseworker of another unit sees none of it.
    other = Journey(browser, live_server.url, "annan-enhet", width)
    sign_in(other, "soder-cw")
    other.goto("/uppfoljningar/historik/")
    other.check("annan-enhet-historik")
    assert "Inga uppföljningar ännu." in other.page.content()
    response = other.page.goto(f"{live_server.url}/uppfoljningar/{completed.pk}/")
    assert response is not None and response.status == 404
    other.check("annan-enhet-404")
    other.close()


def test_the_forms_work_without_javascript(live_server, browser, world: World) -> None:  # type: ignore[no-untyped-def]
    world.caseworker.set_password(PASSWORD)
    world.caseworker.save()
    context = browser.new_context(java_script_enabled=False, locale="sv-SE")
    page = context.new_page()
    page.goto(live_server.url + "/logga-in/")
    page.fill("#id_username", "cw")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.goto(f"{live_server.url}/uppfoljningar/ny/{world.interventions['overdue'].pk}/")
    assert page.locator("#group-q5").is_visible()  # every question shown, with its condition
    page.check('input[name="status"][value="completed"]')
    for q, value in (("q1", "no"), ("q2", "no"), ("q3", "no"), ("q4", "unchanged"), ("q5", "none")):
        page.check(f'input[name="{q}"][value="{value}"]')
    page.check('input[name="assessment"][value="deficient"]')
    with page.expect_navigation():
        page.get_by_role("button", name="Spara uppföljningen").click()
    assert "ställs bara efter vissa svar på fråga 4" in page.content()  # the server keeps the rule
    assert page.locator('input[name="q1"][value="no"]').is_checked()  # and what was chosen
    page.check('input[name="q4"][value="somewhat_better"]')
    with page.expect_navigation():
        page.get_by_role("button", name="Spara uppföljningen").click()
    assert "Uppföljningen är sparad." in page.content()
    assert FollowUp.objects.get().answers.count() == 5
    context.close()
