"""Re-referral (återaktualisering) within 6 and 12 months of an ended intervention, censored
until the window has passed (issue 15, point 7; docs/indicators.md)."""

from __future__ import annotations

import datetime as dt

from django.test import Client

from tests.comparisons.builders import DataSet
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import aggregate
from utfall.organisations.models import Municipality, User

AS_OF = dt.date(2025, 12, 31)


def load(municipality: Municipality) -> None:
    """Ended in 2024 in HVB (children and youth), each client a different story:
    A back in outpatient care after 3 months; B back after 9 months; C never back; D back
    in the same target group only on the end day (a transfer, not counted); E moved (out);
    F ended 2025-10-01 (the 6 months have not passed on 2025-12-31: censored), 5 more clients
    never back (so the groups are not too small to show)."""
    data = DataSet()
    data.provider("P")

    def ended(iid: str, person: str, ended_on: str, reason: str = "goals_met") -> None:
        data.intervention(iid, "P", person_id=person, service="hvb_youth", decided_on="2023-12-01",
                          started_on="2024-01-01", ended_on=ended_on, end_reason=reason)  # fmt: skip

    def again(iid: str, person: str, started_on: str) -> None:
        data.intervention(iid, "P", person_id=person, service="outpatient_youth", decided_on=started_on,
                          started_on=started_on)  # fmt: skip

    people = {k: data.person(female=i % 2 == 0) for i, k in enumerate("ABCDEFGHIJK")}
    ended("A1", people["A"], "2024-03-01")
    again("A2", people["A"], "2024-06-01")
    ended("B1", people["B"], "2024-03-01")
    again("B2", people["B"], "2024-12-01")
    ended("C1", people["C"], "2024-03-01")
    ended("D1", people["D"], "2024-03-01")
    again("D2", people["D"], "2024-03-01")
    ended("E1", people["E"], "2024-03-01", reason="moved")
    again("E2", people["E"], "2024-04-01")
    ended("F1", people["F"], "2025-10-01")
    for k in "GHIJK":
        ended(f"{k}1", people[k], "2024-05-01")
    data.load(municipality)


def count(municipality: Municipality, code: str, start: str, end: str) -> tuple[int, int]:
    (row,) = aggregate(get_indicator(code), municipality=municipality, date_from=dt.date.fromisoformat(start),
                       date_to=dt.date.fromisoformat(end), by=[], as_of=AS_OF)  # fmt: skip
    return row["events"], row["n"]


def test_it_counts_a_return_within_the_window_and_leaves_out_moves_and_transfers(
    municipality: Municipality,
) -> None:
    load(municipality)
    # Ended 2024: A B C D G H I J K (E moved). Within 6 months only A; within 12 A and B.
    assert count(municipality, "rereferral_6m", "2024-01-01", "2024-12-31") == (1, 9)
    assert count(municipality, "rereferral_12m", "2024-01-01", "2024-12-31") == (2, 9)


def test_an_end_whose_window_has_not_passed_is_not_counted_yet(municipality: Municipality) -> None:
    load(municipality)
    assert count(municipality, "rereferral_6m", "2025-01-01", "2025-12-31") == (0, 0)  # F: censored


def test_the_outcomes_page_shows_re_referral(municipality: Municipality) -> None:
    from tests.results.conftest import persona
    from utfall.organisations.models import Role

    load(municipality)
    analyst: User = persona(municipality, "ana2", Role.ANALYST)
    client = Client()
    client.force_login(analyst)
    page = client.get("/resultat/utfallsmatt/?date_from=2024-01-01&date_to=2024-12-31").content.decode()
    assert (
        "Återaktualiserade 12 mån" in page and "22\u00a0%" in page
    )  # 2 of 9: whole percent below n = 100 (issue 17 point 13)
