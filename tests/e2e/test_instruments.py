"""Target-group instruments in a real browser: each instrument's form answered and counted by
`utfall compare`, the method support and pilot pages, and an administrator's new version
(create, edit, preview, publish). Every page is checked with axe-core (WCAG 2.1 A/AA) and saved
as a screenshot in var/screenshots/."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.e2e.conftest import Journey
from tests.e2e.test_journey import PASSWORD, choose, sign_in, submit
from tests.instruments.helpers import ASSESSMENT, INSTRUMENTS, make_admin
from tests.personas import World, make_intervention
from utfall.followups.models import Answer, FollowUp
from utfall.instruments.models import InstrumentVersion, QuestionFeedback

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_caseworker_answers_every_target_group_instrument(live_server, browser, world: World) -> None:  # type: ignore[no-untyped-def]
    world.caseworker.set_password(PASSWORD)
    world.caseworker.save()
    j = Journey(browser, live_server.url, "instrument")
    sign_in(j, "cw")
    for n, (code, (service, respondent, answers, _indicator)) in enumerate(INSTRUMENTS.items(), start=20):
        intervention = make_intervention(
            world, f"I-E2E-{n}", world.norr, started_days_ago=200, service=service, n=n
        )
        j.goto(f"/uppfoljningar/ny/{intervention.pk}/")
        link = j.page.locator(".instrument-choice a", has_text=str(InstrumentVersion.objects.get(
            instrument__code=code, version=1).instrument.name))  # fmt: skip
        if link.count():
            with j.page.expect_navigation():
                link.click()
        j.check(f"formular-{code}")
        choose(j, "status", "completed")
        choose(j, "respondent", respondent)
        for question, value in answers.items():
            choose(j, question, value)
        first = next(iter(answers))
        j.page.locator("details.hard-questions > summary").click()  # the group is closed (issue 17 point 4)
        j.page.locator(f"#id_hard_{first}").check()
        for g in ("g1", "g2", "g3"):
            choose(j, g, ASSESSMENT[g])
        choose(j, "assessment", "approved")
        submit(j, "Spara uppföljningen")
        j.page.wait_for_url("**/uppfoljningar/*/")
        assert "Uppföljningen är sparad." in j.page.content()
        followup = FollowUp.objects.get(intervention=intervention)
        assert followup.instrument_version.instrument.code == code
        stored = dict(Answer.objects.filter(followup=followup).values_list("question__code", "option__code"))
        assert stored == answers
        assert QuestionFeedback.objects.filter(followup=followup, question__code=first).exists()
    # Method support, reached from the form's "Hur frågar jag?".
    j.goto(f"/uppfoljningar/ny/{intervention.pk}/")
    j.page.get_by_role("link", name="Hur frågar jag? (fråga 1)").click()
    j.page.wait_for_url("**/metodstod/**")
    j.check("metodstod-fraga")
    j.goto("/metodstod/")
    j.check("metodstod")
    j.close()

    today = timezone.localdate()
    for code, (_service, _respondent, _answers, indicator) in INSTRUMENTS.items():
        out = io.StringIO()
        call_command("compare", "--indicator", indicator, "--from", str(today - dt.timedelta(days=7)),
                     "--to", str(today), "--municipality", world.municipality.code, "--format", "json",
                     stdout=out)  # fmt: skip
        data = json.loads(out.getvalue())
        assert data["comparability"]["versions"] == [f"{code}@1"]
        assert [r["group"] for r in data["rows"]] == [world.provider.provider_id]


def test_an_administrator_makes_version_2_previews_and_publishes_it(
    live_server, browser, world: World
) -> None:  # type: ignore[no-untyped-def]
    admin = make_admin(world.municipality, "admin")
    admin.set_password(PASSWORD)
    admin.save()
    j = Journey(browser, live_server.url, "editor")
    sign_in(j, "admin")
    j.page.get_by_role("link", name="Frågeformulär").click()
    j.page.wait_for_url("**/instrument/")
    j.check("instrument")
    with j.page.expect_navigation():
        j.page.get_by_role("button", name="Skapa ny version av Barn och unga i placering (2026)").click()
    j.page.wait_for_url("**/instrument/children-youth-2026/2/redigera/")
    j.check("redigera")
    # Field by field: open the school question, change its wording, save.
    j.page.get_by_role("link", name="Redigera cy_school").click()
    j.page.wait_for_url("**/redigera/fraga/cy_school/")
    j.check("fraga")
    j.page.get_by_label("Frågetext").fill("Tycker du att det går bra för dig i skolan?")
    submit(j, "Spara frågan")  # a changed text must be classified first
    assert "ange om ändringen är redaktionell eller innehållslig" in j.page.content()
    j.check("fraga-klassificera")
    j.page.locator('input[name="change"][value="substantive"]').check()
    submit(j, "Spara frågan")
    j.page.wait_for_url("**/instrument/children-youth-2026/2/redigera/")
    assert "Frågan cy_school är sparad." in j.page.content()
    j.page.get_by_role("link", name="Till versionen (förhandsgranska, publicera)").click()
    j.page.wait_for_url("**/instrument/children-youth-2026/2/")
    j.check("utkast")
    assert "Jämförbarhet med föregående version" in j.page.content() and "cy_school" in j.page.content()
    j.page.get_by_role("link", name="Förhandsgranska formuläret").click()
    j.page.wait_for_url("**/forhandsvisning/")
    j.check("forhandsvisning")
    assert "Tycker du att det går bra för dig i skolan?" in j.page.content()
    j.page.get_by_role("link", name="Tillbaka till versionen").click()
    j.page.wait_for_url("**/instrument/children-youth-2026/2/")
    submit(j, "Publicera versionen")
    j.check("publicerad")
    assert "Versionen är publicerad och kan inte längre ändras." in j.page.content()
    v2 = InstrumentVersion.objects.get(instrument__code="children-youth-2026", version=2)
    assert v2.is_read_only and v2.published_on == timezone.localdate()
    j.goto("/instrument/pilot/")
    j.check("pilot")
    j.close()
