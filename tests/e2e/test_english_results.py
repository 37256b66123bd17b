"""The results pages in the English interface in a real browser at 1280 and 375 px, axe-core on
each (issue 17 point 15): no Swedish prose, chart title or legend left, nothing wider than the
window. Screenshots land in var/screenshots/ (english-results-*)."""

from __future__ import annotations

import pytest

from tests.comparisons.builders import DataSet
from tests.e2e.conftest import Journey
from tests.e2e.test_journey import PASSWORD, sign_in
from tests.e2e.test_roles import fits
from tests.personas import World

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PERIOD = "date_from=2025-01-01&date_to=2025-12-31"
PAGES = [
    ("analyst", "/resultat/"),
    ("analyst", f"/resultat/jamforelse/?indicator=satisfied&{PERIOD}"),
    ("analyst", f"/resultat/utveckling/?indicator=satisfied&{PERIOD}"),
    ("analyst", f"/resultat/kvinnor-och-man/?indicator=satisfied&{PERIOD}"),
    ("analyst", "/resultat/kvinnor-och-man/?indicator=cy_feels_safe"),
    ("analyst", f"/resultat/uppfoljningsgrad/?by=provider&{PERIOD}"),
    ("analyst", f"/resultat/utfallsmatt/?{PERIOD}"),
    ("manager", f"/resultat/uppfoljningsgrad/?by=caseworker&{PERIOD}"),
]
#: Words of the page's own that were still Swedish in English (catalogue names may stay Swedish).
LEFT_OVER = ("hela kommunen", "Tillförlitlighet", "ofullständig", "p.e.", "Skillnaden är", "Flickor och",
             "Kvinnor och", "aldrig uppföljd", "Jämför utförarna", "Frågorna ställs", "visas som",
             "Resultat ges")  # fmt: skip


@pytest.mark.parametrize("width", [1280, 375])
def test_the_results_pages_in_english(live_server, browser, world: World, width: int) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()  # answers in 2025, so that the charts have points, titles and legends to read
    for p, (n, positive) in {"EN1": (30, 24), "EN2": (24, 12), "EN3": (40, 30)}.items():
        data.provider(p)
        for i in range(n):
            iid = data.intervention(f"I{p}{i}", p, person_id=data.person(female=i % 2 == 0), unit="soder")
            data.followup(
                iid, date=f"2025-{1 + 3 * (i % 4):02d}-15", q3="yes_mostly" if i < positive else "no"
            )
    data.load(world.municipality)
    for user in (world.analyst, world.manager):
        user.set_password(PASSWORD)
        user.save()
    for who in ("analyst", "manager"):
        j = Journey(browser, live_server.url, f"english-results-{who}", width)
        j.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
        sign_in(j, who)
        for i, (whose, path) in enumerate(PAGES):
            if whose != who:
                continue
            j.goto(path)
            j.page.wait_for_load_state("networkidle")
            j.check(f"sida-{i}")
            fits(j)
            text = j.page.inner_text("main") + " ".join(
                j.page.locator("svg text").all_text_contents()  # the charts' titles, axes and legends
            )
            assert [w for w in LEFT_OVER if w in text] == [], path
            if "utveckling" in path:  # the axis as English writes it: "50%", not the Swedish "50 %"
                ticks = j.page.locator("svg text").all_text_contents()
                assert "50%" in ticks and "50\u00a0%" not in ticks, ticks
        j.close()
