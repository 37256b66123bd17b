"""Issue 10 point 7: editing a question does not wipe its history.

Rewording q3 ("Känner du dig nöjd…" → "Är du nöjd…") and publishing used to leave version 1
out of the default indicator "satisfied": three years of answers vanished from every page.
Now the editor asks whether a changed text is editorial (same meaning: the series goes on,
with a reason recorded) or substantive (a new series); before publishing it shows, per
indicator, the answers a publication leaves out and asks for confirmation; and the results
pages can show the older version's series."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.followups.helpers import post_followup
from tests.instruments.helpers import make_admin
from tests.instruments.test_field_editor import question_post
from tests.personas import World
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import aggregate
from utfall.instruments.loading import definition_of
from utfall.instruments.models import InstrumentVersion, Question
from utfall.instruments.services import comparability

pytestmark = pytest.mark.django_db
NEW = "/instrument/stockholm-2021/ny-version/"
V2 = "/instrument/stockholm-2021/2/"
REWORDED = "Är du nöjd med stödet du får från {provider}?"


@pytest.fixture
def answered(world: World) -> World:
    """A completed follow-up on version 1 (q3 answered)."""
    caseworker = Client()
    caseworker.force_login(world.caseworker)
    assert post_followup(caseworker, world.interventions["overdue"]).status_code == 302
    return world


@pytest.fixture
def admin(client: Client, answered: World) -> Client:
    client.force_login(make_admin(answered.municipality))
    assert client.post(NEW).status_code == 302
    return client


def q3_post(**extra: str) -> dict[str, Any]:
    v1 = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=1)
    q3 = next(q for q in definition_of(v1)["questions"] if q["code"] == "q3")
    options = [(o["code"], o["label"], o["positive"], o["counts"]) for o in q3["options"]]
    return {**question_post("q3", REWORDED, options), **extra}


def publish(client: Client, **extra: str) -> Any:
    return client.post(f"{V2}publicera/", {"published_on": timezone.localdate().isoformat(), **extra})


def satisfied(world: World) -> int:
    """Answers the default indicator "satisfied" counts this week (before suppression)."""
    today = timezone.localdate()
    rows = aggregate(get_indicator("satisfied"), by=["provider"], municipality=world.municipality,
                     date_from=today - dt.timedelta(days=5), date_to=today)  # fmt: skip
    return sum(r["n"] for r in rows)


def test_an_editorial_rewording_of_q3_keeps_the_default_indicators_history(
    admin: Client, answered: World
) -> None:
    response = admin.post(
        f"{V2}redigera/fraga/q3/", q3_post(change="editorial", change_reason="Enklare ord, samma fråga.")
    )
    assert response.status_code == 302, response.content.decode()
    page = admin.get(V2).content.decode()
    assert "Historik som inte längre jämförs" not in page
    assert "Redaktionell ändring (jämförbar med tidigare versioner): Enklare ord, samma fråga." in page
    assert publish(admin).status_code == 302  # nothing lost: no confirmation needed
    q3 = Question.objects.get(version__version=2, version__instrument__code="stockholm-2021", code="q3")
    assert (q3.text, q3.change, q3.change_reason) == (REWORDED, "editorial", "Enklare ord, samma fråga.")
    spans = comparability("stockholm-2021", "q3")
    assert spans.included == ["stockholm-2021@1", "stockholm-2021@2"] and spans.excluded == []
    assert satisfied(answered) == 1  # version 1's answer still counts
    # A later version copied from version 2 carries the series on without repeating the reason.
    assert admin.post(NEW).status_code == 302
    v3 = Question.objects.get(version__version=3, version__instrument__code="stockholm-2021", code="q3")
    assert (v3.change, v3.change_reason, v3.series_text) == ("", "", q3.series_text)


def test_a_changed_text_must_be_classified_and_an_editorial_one_needs_a_reason(admin: Client) -> None:
    before = definition_of(InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=2))
    unclassified = admin.post(f"{V2}redigera/fraga/q3/", q3_post())
    assert unclassified.status_code == 422
    assert (
        "Frågetexten har ändrats: ange om ändringen är redaktionell eller innehållslig."
        in unclassified.content.decode()
    )
    no_reason = admin.post(f"{V2}redigera/fraga/q3/", q3_post(change="editorial"))
    assert (
        no_reason.status_code == 422
        and "Skriv varför ändringen är redaktionell." in no_reason.content.decode()
    )
    after = definition_of(InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=2))
    assert after == before


def test_a_substantive_change_shows_the_lost_history_per_indicator_and_asks_for_confirmation(
    admin: Client, answered: World
) -> None:
    assert admin.post(f"{V2}redigera/fraga/q3/", q3_post(change="substantive")).status_code == 302
    page = admin.get(V2).content.decode()
    assert "Historik som inte längre jämförs när versionen publiceras" in page
    assert '<td>Nöjd med stödet</td><td>q3</td><td>stockholm-2021@1</td><td class="num">1</td>' in page
    refused = publish(admin)
    assert refused.status_code == 422
    assert "Bekräfta att du har sett det." in refused.content.decode()
    assert InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=2).status == "draft"
    assert publish(admin, confirm_loss="on").status_code == 302
    assert comparability("stockholm-2021", "q3").excluded == ["stockholm-2021@1"]
    assert satisfied(answered) == 0

    # The results pages can still show version 1's series.
    analyst = Client()
    analyst.force_login(answered.analyst)
    today = timezone.localdate()
    dates = f"date_from={today - dt.timedelta(days=5):%Y-%m-%d}&date_to={today:%Y-%m-%d}"
    newest = analyst.get(f"/resultat/jamforelse/?indicator=satisfied&{dates}").content.decode()
    assert "Räknar bara stockholm-2021@2" in newest and '<option value="stockholm-2021@1">' in newest
    older = analyst.get(f"/resultat/jamforelse/?indicator=satisfied&{dates}&serie=stockholm-2021@1")
    assert older.status_code == 200
    html = older.content.decode()
    assert "Räknar bara stockholm-2021@1" in html
    assert '<option value="stockholm-2021@1" selected>' in html
    unknown = analyst.get(f"/resultat/jamforelse/?indicator=satisfied&{dates}&serie=stockholm-2021@9")
    assert unknown.status_code == 400
    assert "Serien finns inte. Välj en publicerad version i listan." in unknown.content.decode()
