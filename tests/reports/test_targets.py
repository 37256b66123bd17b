"""Targets: met, not met or cannot be judged yet, from the 95 % interval (issue 15, point 2).

The data are tests.results.conftest's: "Nöjd med stödet" (q3) is 86 positive of 121 answers in
2025 in the whole municipality (71.1 %, Wilson 95 % interval 62.4–78.5 %), and 50 of 75 in
sodermalm (66.7 %: providers A–D and F).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from utfall.organisations.models import Municipality, Unit, User
from utfall.registry.models import Service
from utfall.reports.models import Comparator, Target
from utfall.reports.targets import MET, NOT_MET, UNDECIDED, judge

END = dt.date(2025, 12, 31)


def target(
    municipality: Municipality, level: str, comparator: str = Comparator.AT_LEAST, **scope: object
) -> Target:
    return Target.objects.create(municipality=municipality, indicator="satisfied", year=2025,
                                 comparator=comparator, level=Decimal(level), **scope)  # fmt: skip


@pytest.mark.parametrize(
    ("level", "comparator", "verdict"),
    [
        ("60", Comparator.AT_LEAST, MET),  # 62.4 % ≥ 60: the whole interval is above
        ("80", Comparator.AT_LEAST, NOT_MET),  # 78.5 % < 80: the whole interval is below
        ("70", Comparator.AT_LEAST, UNDECIDED),  # 70 lies inside 62.4–78.5
        ("80", Comparator.AT_MOST, MET),
        ("60", Comparator.AT_MOST, NOT_MET),
        ("75", Comparator.AT_MOST, UNDECIDED),
    ],
)
def test_it_judges_a_target_by_where_the_interval_lies(
    results_set: Municipality, level: str, comparator: str, verdict: str
) -> None:
    judged = judge(target(results_set, level, comparator), as_of=END)
    assert judged.n == 121
    assert judged.rate == pytest.approx(86 / 121, abs=1e-4)
    assert judged.ci_low == pytest.approx(0.6245, abs=2e-3)
    assert judged.ci_high == pytest.approx(0.7852, abs=2e-3)
    assert judged.verdict == verdict


def test_it_judges_a_unit_target_on_that_unit_only(results_set: Municipality) -> None:
    unit = Unit.objects.get(municipality=results_set, code="sodermalm")
    judged = judge(target(results_set, "50", unit=unit), as_of=END)
    assert (judged.n, judged.rate) == (75, pytest.approx(50 / 75, abs=1e-4))
    assert judged.scope == unit.name


def test_it_never_judges_a_group_too_small_to_be_shown(results_set: Municipality) -> None:
    """No follow-ups of IHF were answered: no data; a target there cannot be judged yet."""
    judged = judge(target(results_set, "50", service=Service.objects.get(code="ihf")), as_of=END)
    assert judged.verdict == UNDECIDED
    assert judged.n is None and judged.rate is None


def test_a_year_not_yet_in_the_data_cannot_be_judged(results_set: Municipality) -> None:
    later = Target.objects.create(
        municipality=results_set, indicator="satisfied", year=2030, level=Decimal("80")
    )
    judged = judge(later, as_of=END)
    assert judged.verdict == UNDECIDED
    assert "inte börjat" in judged.reason


def test_an_analyst_sets_a_target_and_sees_its_verdict(results_set: Municipality, analyst: User) -> None:
    client = Client()
    client.force_login(analyst)
    data = {"indicator": "satisfied", "year": "2025", "comparator": "at_least", "level": "60"}
    response = client.post(reverse("reports:targets"), data)
    assert response.status_code == 302
    page = client.get(reverse("reports:targets")).content.decode()
    assert "Nöjd med stödet" in page and "Uppfyllt" in page


def test_a_wrong_level_is_refused_by_its_label_and_nothing_is_saved(
    results_set: Municipality, analyst: User
) -> None:
    client = Client()
    client.force_login(analyst)
    data = {"indicator": "satisfied", "year": "2025", "comparator": "at_least", "level": "120"}
    response = client.post(reverse("reports:targets"), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Målnivå (%)" in page and "100" in page
    assert 'value="satisfied" selected' in page  # what was typed is still there
    assert not Target.objects.exists()


def test_the_same_target_twice_is_refused(results_set: Municipality, analyst: User) -> None:
    client = Client()
    client.force_login(analyst)
    data = {"indicator": "satisfied", "year": "2025", "comparator": "at_least", "level": "60"}
    client.post(reverse("reports:targets"), data)
    response = client.post(reverse("reports:targets"), {**data, "level": "70"})
    assert response.status_code == 400
    assert "finns redan ett mål" in response.content.decode()
    assert Target.objects.get().level == Decimal("60")


def test_a_district_board_sets_targets_for_its_own_unit_only(
    results_set: Municipality, district_board: User
) -> None:
    client = Client()
    client.force_login(district_board)
    other = Unit.objects.get(municipality=results_set, code="sodermalm")
    data = {
        "indicator": "satisfied",
        "year": "2025",
        "comparator": "at_least",
        "level": "60",
        "unit": other.pk,
    }
    assert client.post(reverse("reports:targets"), data).status_code == 400
    assert client.post(reverse("reports:targets"), {**data, "unit": ""}).status_code == 400
    own = Unit.objects.get(municipality=results_set, code="bromma")
    assert client.post(reverse("reports:targets"), {**data, "unit": own.pk}).status_code == 302
    assert Target.objects.get().unit == own


def test_the_start_page_shows_this_years_targets(results_set: Municipality, analyst: User) -> None:
    target(results_set, "60")
    client = Client()
    client.force_login(analyst)
    page = client.get(reverse("home")).content.decode()
    assert "Mål 2025" in page and "Uppfyllt" in page and "Nöjd med stödet" in page
