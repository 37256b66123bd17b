"""Indicator counts from SQL aggregation, against data sets whose truth is known by construction."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.comparisons.builders import DataSet
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import BadQuery, aggregate

pytestmark = pytest.mark.django_db
YEAR = {"date_from": dt.date(2025, 1, 1), "date_to": dt.date(2025, 12, 31)}


def counts(municipality, code: str, by: str = "provider", **options):  # type: ignore[no-untyped-def]
    rows = aggregate(get_indicator(code), municipality=municipality, by=[by], **{**YEAR, **options})
    return {r[by]: (r["events"], r["n"]) for r in rows}


def test_a_question_indicator_counts_positive_over_answered_without_dont_know(municipality) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()
    a, b = data.provider("A"), data.provider("B")
    ia, ib = data.intervention("IA", a), data.intervention("IB", b)
    for answer in ["yes_completely", "yes_completely", "yes_mostly", "yes_somewhat", "no", "dont_know", ""]:
        data.followup(ia, q3=answer)
    data.followup(ia, status="declined")  # not completed: not counted
    data.followup(ia, date="2024-12-31", q3="yes_completely")  # outside the period
    data.followup(ib, q3="no")
    data.load(municipality)
    assert counts(municipality, "satisfied") == {"A": (3, 5), "B": (0, 1)}
    assert counts(municipality, "got_decided_support") == {}


def test_q5_counts_only_where_it_was_asked(municipality) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()
    i = data.intervention("I1", data.provider("A"))
    data.followup(i, q4="much_better", q5="very_large")
    data.followup(i, q4="somewhat_better", q5="fairly_small")
    data.followup(i, q4="unchanged")
    data.followup(i, q4="dont_know")
    data.load(municipality)
    assert counts(municipality, "situation_improved") == {"A": (2, 3)}
    assert counts(municipality, "support_mattered") == {"A": (1, 2)}


def test_assessment_indicators(municipality) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()
    i = data.intervention("I1", data.provider("A"))
    for assessment in ["deficient", "approved", "approved", "very_good"]:
        data.followup(i, assessment=assessment)
    data.followup(i, status="unreachable")
    data.load(municipality)
    assert counts(municipality, "assessment_approved") == {"A": (3, 4)}
    assert counts(municipality, "assessment_very_good") == {"A": (1, 4)}


def test_step_down_looks_at_the_clients_next_intervention(municipality) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()
    p = data.provider("A")
    ended = {"ended_on": "2025-03-01", "end_reason": "goals_met"}
    lower, higher, none_, moved, late, far = (data.person() for _ in range(6))
    data.intervention("X1", p, person_id=lower, **ended)
    data.intervention(
        "X2", p, person_id=lower, service="outpatient_youth", decided_on="2025-03-20", started_on="2025-04-01"
    )
    data.intervention("Y1", p, person_id=higher, **ended)
    data.intervention(
        "Y2", p, person_id=higher, service="sis_youth", decided_on="2025-03-09", started_on="2025-03-10"
    )
    data.intervention("Z1", p, person_id=none_, **ended)
    data.intervention("W1", p, person_id=moved, ended_on="2025-03-01", end_reason="moved")
    data.intervention("V1", p, person_id=late, ended_on="2025-12-15", end_reason="goals_met")
    data.intervention("U1", p, person_id=far, **ended)  # next one starts after 90 days: counts as none
    data.intervention(
        "U2", p, person_id=far, service="sis_youth", decided_on="2025-06-01", started_on="2025-06-05"
    )
    data.load(municipality)
    # X1 lower (event), Y1 higher (no), Z1 none (event), U1 none within 90 days (event);
    # W1 moved and V1 less than 90 days before the reference date are not counted.
    assert counts(municipality, "step_down", as_of=dt.date(2026, 1, 10)) == {"A": (3, 4)}
    assert counts(municipality, "step_down", as_of=dt.date(2026, 3, 20)) == {"A": (4, 5)}


def test_plan_goals(municipality) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()
    p = data.provider("A")
    end = {"ended_on": "2025-05-01", "end_reason": "goals_met"}
    data.intervention("G1", p, goals_total=3, goals_fully=3, goals_partly=0, **end)
    data.intervention("G2", p, goals_total=3, goals_fully=0, goals_partly=1, **end)
    data.intervention("G3", p, goals_total=2, goals_fully=0, goals_partly=0, **end)
    data.intervention("G4", p, **end)  # no goals recorded: not in the denominator
    data.intervention("G5", p, goals_total=2, goals_fully=2)  # ongoing: not counted
    data.load(municipality)
    assert counts(municipality, "plan_goals_reached") == {"A": (2, 3)}
    assert counts(municipality, "plan_goals_fully") == {"A": (1, 3)}


def test_coverage_counts_ongoing_interventions_followed_up_in_the_period(municipality) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()
    p = data.provider("A")
    data.followup(data.intervention("C1", p))
    data.followup(data.intervention("C2", p), status="declined")  # any status counts
    data.intervention("C3", p)  # never followed up
    data.intervention("C4", p, ended_on="2024-06-01", end_reason="other")  # not ongoing in 2025
    data.followup(data.intervention("C5", p), date="2024-07-01")  # followed up, but not in 2025
    data.load(municipality)
    assert counts(municipality, "followup_coverage") == {"A": (2, 4)}


def test_groups_by_sex_and_age_group_and_filters(municipality) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()
    p = data.provider("A")
    girl = data.intervention("K1", p, person_id=data.person(born=dt.date(2010, 2, 1), female=True))
    man = data.intervention(
        "M1", p, person_id=data.person(born=dt.date(1990, 2, 1), female=False), service="hvb_adult"
    )
    data.followup(girl, q3="yes_mostly")
    data.followup(man, q3="no")
    data.load(municipality)
    assert counts(municipality, "satisfied", by="sex") == {"female": (1, 1), "male": (0, 1)}
    assert counts(municipality, "satisfied", by="age_group") == {"13-15": (1, 1), "25-44": (0, 1)}
    assert counts(municipality, "satisfied", by="service") == {"hvb_youth": (1, 1), "hvb_adult": (0, 1)}
    only_youth = aggregate(get_indicator("satisfied"), municipality=municipality, by=["sex"],
                           filters={"service": "hvb_youth"}, **YEAR)  # fmt: skip
    assert only_youth == [{"sex": "female", "events": 1, "n": 1}]


def test_bad_queries_are_refused_with_a_reason(municipality) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadQuery, match=r"okänd dimension \(tillåtna: "):
        aggregate(get_indicator("satisfied"), municipality=municipality, by=["colour"], **YEAR)
    with pytest.raises(BadQuery, match="början ligger efter"):
        aggregate(get_indicator("satisfied"), municipality=municipality, by=["provider"],
                  date_from=dt.date(2025, 2, 1), date_to=dt.date(2025, 1, 1))  # fmt: skip


def test_another_municipalitys_data_is_never_counted(municipality, other_municipality) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()
    data.followup(data.intervention("I1", data.provider("A")), q3="no")
    data.load(other_municipality)
    assert counts(municipality, "satisfied") == {}
    assert counts(other_municipality, "satisfied") == {"A": (0, 1)}
