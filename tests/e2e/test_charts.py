"""The charts as drawn in a real browser: no axis title over the labels at 1280 px, no chart
title cut at the screen's edge at 375 px (the provider page's profile, whose indicator names are
the longest labels a chart has). Screenshots land in var/screenshots/ (charts-*)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.comparisons.builders import DataSet
from tests.e2e.conftest import Journey
from tests.e2e.test_journey import PASSWORD, sign_in
from tests.personas import World

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AGREEMENT = ("yes_completely", "yes_mostly", "yes_somewhat", "no")


def _boxes(j: Journey, selector: str) -> list[dict[str, Any]]:
    return j.page.evaluate(
        "s => [...document.querySelectorAll(s)].map(e => ({text: e.textContent, ...e.getBoundingClientRect().toJSON()}))",
        selector,
    )


@pytest.mark.parametrize("width", [1280, 375])
def test_the_provider_profile_chart_keeps_its_titles_clear(
    live_server, browser, world: World, width: int
) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()
    data.provider("CH1")
    for i in range(40):
        iid = data.intervention(f"ICH{i}", "CH1", person_id=data.person(female=i % 2 == 0), unit="soder")
        answer = AGREEMENT[i % 4]
        data.followup(iid, date=f"2025-{1 + i % 12:02d}-15", q1=answer, q2=answer, q3=answer,
                      q4="much_better" if i % 3 else "unchanged")  # fmt: skip
    data.load(world.municipality)
    world.analyst.set_password(PASSWORD)
    world.analyst.save()

    j = Journey(browser, live_server.url, "charts-analyst", width)
    sign_in(j, "analyst")
    j.goto("/resultat/utforare/CH1/?date_from=2025-01-01&date_to=2025-12-31")
    j.page.wait_for_selector("[data-chart='chart-profile'] svg")
    j.check("utforarsida")
    chart = "[data-chart='chart-profile']"
    labels = _boxes(j, f"{chart} g.role-axis-label text")
    titles = _boxes(j, f"{chart} g.role-axis-title text")
    assert any(label["text"].startswith("Har kunnat vara") for label in labels), (
        labels
    )  # the long indicator names are there
    # The category axis's title ("Indikator", drawn turned on its side) lies left of every label.
    category = next(t for t in titles if t["text"] == "Indikator")
    leftmost = min(
        label["left"] for label in labels if label["text"] and label["left"] < category["right"] + 300
    )
    assert category["right"] <= leftmost, (category, leftmost)
    # The chart's own title fits inside the chart's frame, on a phone too.
    frame = j.page.locator(chart).bounding_box()
    assert frame is not None
    heading = _boxes(j, f"{chart} g.role-title-text text")
    assert heading and "Utförarens resultat" in " ".join(h["text"] for h in heading), heading
    for line in heading:
        assert frame["x"] - 1 <= line["left"] and line["right"] <= frame["x"] + frame["width"] + 1, (
            line,
            frame,
        )
    j.close()
