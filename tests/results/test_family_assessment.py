"""Seed 004's third outcome measure on the outcomes page: guardians' and children's own
assessment of a completed IHF or MST treatment, with IHF and MST side by side."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tests.comparisons.builders import DataSet
from tests.results.conftest import PERIOD, page_tables, persona
from utfall.instruments.models import InstrumentVersion
from utfall.organisations.models import Municipality, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def families(municipality: Municipality) -> Municipality:
    # Follow-ups may only use a version valid on their date (issue 17 point 20): here the family
    # instruments were in use from 2025 (past the model's guard on published versions).
    InstrumentVersion.objects.filter(instrument__code__startswith="family-").update(
        published_on=dt.date(2025, 1, 1)
    )
    data = DataSet()
    data.provider("B")
    guardians = {
        "ihf": ["yes_mostly"] * 5 + ["no", "dont_know"],  # 5 of 6 (don't know does not count)
        "mst": ["yes_completely"] * 3 + ["no"] * 3,  # 3 of 6
    }
    for service, answers in guardians.items():
        for i, answer in enumerate(answers):
            iid = data.intervention(f"I{service}{i}", "B", service=service, ended_on="2025-04-01",
                                    end_reason="goals_met")  # fmt: skip
            data.followup(iid, date="2025-04-01", instrument="family-guardian-2026@1", respondent="guardian",
                          fg_helped=answer)  # fmt: skip
            if service == "ihf" and i < 3:  # three children answer: too few to show
                data.followup(iid, date="2025-04-01", instrument="family-child-2026@1", fc_better_home="yes")
    data.load(municipality)
    return municipality


def test_it_shows_guardians_assessment_per_service_and_hides_the_childrens_few(
    client: Client, families: Municipality
) -> None:
    client.force_login(persona(families, "ana", Role.ANALYST))
    html = client.get(f"/resultat/utfallsmatt/?{PERIOD}").content.decode()
    assert "Vårdnadshavares och barns bedömning av IHF och MST" in html
    rows = {r["group"]: r for r in page_tables(html)["bedomning_ihf"]}
    helped = rows["family_guardian_helped"]
    assert helped["respondent"] == "Vårdnadshavare"
    assert (helped["all_n"], helped["ihf_n"], helped["mst_n"]) == ("12", "6", "6")
    # Whole percent for n under 100 (issue 17 point 13).
    assert (helped["all_rate"], helped["ihf_rate"], helped["mst_rate"]) == (
        "67\u00a0%",
        "83\u00a0%",
        "50\u00a0%",
    )
    child = rows["family_child_better"]
    assert child["respondent"] == "Barn"
    assert child["all_n"] == child["ihf_n"] == "dold"  # 3 children: never shown
    api = client.get(f"/api/v1/outcomes?{PERIOD}").json()["tables"]["bedomning_ihf"]["rows"]
    by_code = {r["group"]: r for r in api}
    assert by_code["family_guardian_helped"]["ihf_rate"] == 0.8333
    assert by_code["family_child_better"]["all_n"] is None


def test_numbers_read_as_a_swedish_reader_expects() -> None:
    from utfall.results.tables import display

    assert display(0.6667, "rate", n=12) == "67\u00a0%"
    assert display(0.6667, "rate", n=250) == "66,7\u00a0%"
    assert display(22500, "count") == "22\u00a0500"
    assert display(1.23456, "ratio") == "1,23"
    # An expected count (E) and other numbers: one decimal, thousands apart ("3423,7600" before).
    assert display(3423.76, "number") == "3\u00a0423,8"
    assert display(3423.76, "number", english=True) == "3,423.8"
    assert display(-1234567.04, "number") == "-1\u00a0234\u00a0567,0"
