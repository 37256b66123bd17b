"""A follow-up may only use an instrument version valid on its date (issue 17 point 20): the
same rule in the import, the form and the API, with a clear error."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tests.followups.helpers import form_data, post_followup
from tests.personas import World
from utfall.followups.models import FollowUp
from utfall.instruments.models import InstrumentVersion
from utfall.records.rules import RowChecker, catalogue_for, check_followup

pytestmark = pytest.mark.django_db


def family_row(date: str) -> dict[str, str]:
    return {"followup_id": "F1", "intervention_id": "I1", "date": date, "instrument": "family-child-2026@1",
            "respondent": "client", "status": "declined"}  # fmt: skip


def test_the_rule_refuses_a_version_not_yet_valid_on_the_date() -> None:
    version = InstrumentVersion.objects.get(instrument__code="family-child-2026", version=1)
    valid_from = version.published_on
    assert valid_from is not None
    catalogue = catalogue_for(valid_from + dt.timedelta(days=60))
    before = RowChecker(
        "followups.csv", 2, family_row((valid_from - dt.timedelta(days=1)).isoformat()), catalogue
    )
    check_followup(before)
    assert [str(i) for i in before.issues] == [
        f"followups.csv:2: date: family-child-2026@1 gäller från {valid_from.isoformat()}; uppföljningen är "
        f"daterad {(valid_from - dt.timedelta(days=1)).isoformat()}"
    ]
    on = RowChecker("followups.csv", 3, family_row(valid_from.isoformat()), catalogue)
    check_followup(on)
    assert on.issues == []


def test_the_form_refuses_a_date_before_the_version(client: Client, world: World) -> None:
    # A version published ten days ago (set past the model's guard, as a fixture).
    version = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=1)
    InstrumentVersion.objects.filter(pk=version.pk).update(
        published_on=dt.date.today() - dt.timedelta(days=10)
    )
    version.refresh_from_db()
    assert version.published_on is not None
    client.force_login(world.caseworker)
    early = (version.published_on - dt.timedelta(days=5)).isoformat()
    response = post_followup(client, world.interventions["overdue"], form_data(date=early))
    assert response.status_code == 422
    html = response.content.decode()
    assert (
        f"Frågeformuläret gäller från {version.published_on.isoformat()}, men uppföljningen är daterad {early}."
        in html
    )
    assert not FollowUp.objects.exists()
