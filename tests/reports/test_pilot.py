"""The pilot evaluation (issue 15, point 8): minutes per follow-up as median and quartiles by
service and unit, hard questions, coverage and non-response, page and PDF."""

from __future__ import annotations

import datetime as dt

from django.test import Client

from tests.comparisons.builders import DataSet
from utfall.organisations.models import Municipality, User
from utfall.reports.pilot import build_pilot, quantile


def test_quantiles_are_minutes_someone_reported() -> None:
    # 10, 20, 20, 30, 40, 60: ½ is reached at the third (20), ¼ at the second, ¾ at the fifth.
    hist = [(10, 1), (20, 2), (30, 1), (40, 1), (60, 1)]
    assert (quantile(hist, 0.25), quantile(hist, 0.5), quantile(hist, 0.75)) == (20, 20, 40)


def test_minutes_by_service_and_unit_with_small_groups_hidden(municipality: Municipality) -> None:
    data = DataSet()
    data.provider("P")
    minutes = [
        15,
        20,
        25,
        30,
        35,
        40,
        45,
        60,
    ]  # HVB in sodermalm: median 30 (4th of 8), quartiles 20 (2nd) and 40 (6th)
    for i, m in enumerate(minutes):
        iid = data.intervention(f"H{i}", "P", person_id=data.person(), unit="sodermalm")
        data.followup(iid, date="2025-03-01", q3="yes_mostly", minutes=str(m))
    for i in range(6):  # outpatient care: 6, the smallest group beside the hidden one, hidden too
        iid = data.intervention(
            f"O{i}", "P", person_id=data.person(), unit="bromma", service="outpatient_youth"
        )
        data.followup(iid, date="2025-03-01", q3="yes_mostly", minutes="30")
    for i in range(3):  # foster home in bromma: 3 only, hidden
        iid = data.intervention(f"F{i}", "P", person_id=data.person(), unit="bromma", service="foster_home")
        data.followup(iid, date="2025-03-01", q3="yes_mostly", minutes="90")
    data.load(municipality)
    content = build_pilot(municipality, date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 12, 31))
    by_service = content["sections"][0]["tables"][0]["rows"]
    rows = {r["name"]: r for r in by_service}
    assert (rows["HVB, barn och unga"]["n"], rows["HVB, barn och unga"]["median"]) == (8, 30)
    assert (rows["HVB, barn och unga"]["q1"], rows["HVB, barn och unga"]["q3"]) == (20, 40)
    assert rows["Familjehem"]["suppressed"] and rows["Familjehem"]["n"] is None
    assert rows["Öppenvård, barn och unga"]["suppressed"]  # else the total minus the rest gives it away
    assert (rows["Alla"]["n"], rows["Alla"]["median"]) == (17, 30)
    assert "Median 30 minuter" in content["summary"][1] and "n = 17" in content["summary"][1]


def test_the_pilot_page_and_pdf(results_set: Municipality, analyst: User) -> None:
    client = Client()
    client.force_login(analyst)
    page = client.get("/rapporter/pilot/?ar=2025")
    assert page.status_code == 200 and "Tid per uppföljning" in page.content.decode()
    pdf = client.get("/rapporter/pilot/?ar=2025&format=pdf")
    assert pdf.content.startswith(b"%PDF") and "pilotutvardering" in pdf["Content-Disposition"]
