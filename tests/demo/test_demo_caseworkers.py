"""The demo's coverage per caseworker has figures (issue 17 point 9, checked in the browser on
2026-12-02: the demo's follow-ups are imported without a person, so the manager saw one row of
"–" for the caseworker and one for "never followed up or imported", both hidden)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import TODAY
from utfall.demo.setup import (
    DEMO_UNIT,
    demo_municipality,
    ensure_demo_caseworkers,
    ensure_demo_users,
    load_demo_data,
)
from utfall.followups.models import FollowUp
from utfall.organisations.models import User
from utfall.results.services.coverage import coverage

pytestmark = pytest.mark.django_db


def test_the_demo_managers_coverage_per_caseworker_shows_figures() -> None:
    municipality = demo_municipality()
    load_demo_data(municipality, size=0.1, today=TODAY)
    ensure_demo_users(municipality)
    manager = User.objects.get(username="manager")
    period = {"date_from": dt.date(TODAY.year - 1, 1, 1), "date_to": dt.date(TODAY.year - 1, 12, 31)}

    coverage(manager, by="caseworker", **period)  # counted (and cached) before they are set
    ensure_demo_caseworkers(municipality)
    ensure_demo_caseworkers(municipality)  # again (the demo command runs on loaded data): no change
    rows = coverage(manager, by="caseworker", **period).tables["tackning"].rows
    shown = {row["name"]: row for row in rows if row["ongoing_n"] is not None}
    assert {"caseworker", "Alva Exempelsson", "Bo Testberg"} <= set(shown)
    for name in ("caseworker", "Alva Exempelsson", "Bo Testberg"):
        row = shown[name]
        assert row["coverage"] is not None and row["missing"] == row["ongoing_n"] - row["followed"]
        assert row["followups_n"] is not None  # the follow-ups each recorded are counted too
    # Only the demo unit's follow-ups are given a person; the other units' stay imported.
    assert not FollowUp.objects.filter(intervention__unit__code=DEMO_UNIT, created_by__isnull=True).exists()
    assert (
        FollowUp.objects.exclude(intervention__unit__code=DEMO_UNIT).filter(created_by__isnull=False).count()
        == 0
    )
