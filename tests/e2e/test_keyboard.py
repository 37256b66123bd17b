"""The caseworker's follow-up with the keyboard only, every key counted (issue 17 point 4).

From the worklist to a saved Stockholm follow-up: the skip links lead to the work, help and the
pilot's "hard to understand" boxes cost no Tab between answers. Target: at most 40 keys.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests.e2e.conftest import Journey
from tests.e2e.test_journey import PASSWORD, sign_in
from tests.personas import World
from utfall.followups.models import FollowUp

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
MOST_KEYS = 40


class Keyboard:
    def __init__(self, page: Any) -> None:
        self.page, self.count = page, 0

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.count += 1

    def focused(self, selector: str) -> bool:
        return bool(self.page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector))

    def tab_to(self, selector: str, *, most: int) -> None:
        """Tab until the element is focused; fail when it takes more than ``most`` Tabs."""
        for _ in range(most):
            self.press("Tab")
            if self.focused(selector):
                return
        active = self.page.evaluate("document.activeElement?.outerHTML?.slice(0, 120)")
        raise AssertionError(f"{selector} not reached in {most} Tabs (at {active})")

    def answer(self, name: str, index: int) -> None:
        """Tab into the radio group, then pick the option: Space for the first, arrows onward."""
        self.tab_to(f'input[name="{name}"]', most=1)
        if index == 0:
            self.press("Space")
        for _ in range(index):
            self.press("ArrowDown")
        assert self.page.locator(f'input[name="{name}"]').nth(index).is_checked(), name


def test_a_complete_stockholm_followup_takes_at_most_40_keys(live_server, browser, world: World) -> None:  # type: ignore[no-untyped-def]
    world.caseworker.set_password(PASSWORD)
    world.caseworker.save()
    j = Journey(browser, live_server.url, "tangentbord", 1280)
    sign_in(j, "cw")
    j.goto("/uppfoljningar/")
    keys = Keyboard(j.page)

    keys.tab_to("a.skip-link[href='#forsta-uppfoljning']", most=2)
    keys.press("Enter")
    assert keys.focused("#forsta-uppfoljning")
    with j.page.expect_navigation():
        keys.press("Enter")
    j.page.wait_for_load_state("load")

    keys.tab_to("a.skip-link[href='#id_status_0']", most=2)
    keys.press("Enter")
    assert keys.focused("#id_status_0")
    keys.press("Space")  # Genomförd
    keys.tab_to('input[name="respondent"]', most=1)  # the client answers (preselected)
    keys.tab_to('input[name="date"]', most=1)  # today (prefilled)
    # Step 1: the questions (the method support link comes once, before them).
    for name, index in (("q1", 0), ("q2", 1), ("q3", 2), ("q4", 0)):
        keys.tab_to(f'input[name="{name}"]', most=2)
        if index == 0:
            keys.press("Space")
        for _ in range(index):
            keys.press("ArrowDown")
        assert j.page.locator(f'input[name="{name}"]').nth(index).is_checked(), name
    keys.answer("q5", 1)  # shown because question 4 says improved
    # Step 2: the guiding questions and the assessment, past the closed "hard to understand" group.
    keys.tab_to('input[name="g1"]', most=2)
    keys.press("Space")
    keys.answer("g2", 1)
    keys.answer("g3", 0)
    keys.answer("assessment", 1)  # Godkänt
    keys.tab_to("button[type=submit].primary", most=1)
    with j.page.expect_navigation():
        keys.press("Enter")
    j.page.wait_for_url("**/uppfoljningar/*/")
    print(f"\nkeys for one complete Stockholm follow-up, worklist to saved: {keys.count}")
    assert "Uppföljningen är sparad." in j.page.content()
    followup = FollowUp.objects.get(created_by=world.caseworker)
    answers = dict(followup.answers.values_list("question__code", "option__position"))
    assert followup.status == "completed" and followup.assessment == "approved" and len(answers) == 5
    assert keys.count <= MOST_KEYS, keys.count
    j.close()


def test_an_intervention_is_ended_with_the_keyboard_only(live_server, browser, world: World) -> None:  # type: ignore[no-untyped-def]
    """The keyboard walk of 2026-12-02: the end date is typed as "2026-11-30" and taken (Chromium's
    type=date took the digits into its year part, and the form could not be saved)."""
    world.caseworker.set_password(PASSWORD)
    world.caseworker.save()
    item = world.interventions["overdue"]
    ended_on = max(item.started_on, timezone.localdate() - dt.timedelta(days=1)).isoformat()
    j = Journey(browser, live_server.url, "tangentbord-avsluta", 1280)
    sign_in(j, "cw")
    j.goto(f"/insatser/{item.pk}/")
    keys = Keyboard(j.page)
    keys.tab_to("a[href$='?avsluta']", most=30)
    with j.page.expect_navigation():
        keys.press("Enter")
    keys.tab_to("#id_ended_on", most=30)
    j.page.keyboard.type(ended_on)
    keys.tab_to("#id_end_reason", most=3)
    keys.press("ArrowDown")  # the first reason
    keys.tab_to("#id_reason", most=10)
    j.page.keyboard.type("Målen nådda")
    keys.tab_to("button[type=submit]", most=5)
    with j.page.expect_navigation():
        keys.press("Enter")
    assert "Ändringen är sparad" in j.page.content(), j.page.inner_text("main")[:500]
    item.refresh_from_db()
    assert item.ended_on is not None and item.ended_on.isoformat() == ended_on and item.end_reason
    print(f"\nkeys to end an intervention (typed text not counted): {keys.count}")
    j.close()
