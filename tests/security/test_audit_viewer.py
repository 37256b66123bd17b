"""The auditor's audit log viewer: search by user, record, time and action; export."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.personas import make_user
from utfall.core.models import AuditEntry
from utfall.core.spreadsheets import read_excel_csv
from utfall.organisations.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(world):  # type: ignore[no-untyped-def]
    return make_user("granskare", world.municipality, [], Role.AUDITOR)


def reads(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    client.get(f"/insatser/{world.interventions['overdue'].pk}/")
    client.get(f"/insatser/{world.interventions['soder'].pk}/")  # refused: another unit
    client.force_login(world.colleague)
    client.get(f"/insatser/{world.interventions['fresh'].pk}/")
    client.force_login(world.foreign)
    client.get(f"/insatser/{world.interventions['abroad'].pk}/")  # another municipality's log


def test_an_auditor_finds_who_read_a_record(client: Client, world, auditor) -> None:  # type: ignore[no-untyped-def]
    reads(client, world)
    client.force_login(auditor)
    html = client.get("/revision/?record=I-OVERDUE").content.decode()
    assert "cw" in html and "I-OVERDUE" in html and "colleague" not in html
    by_user = client.get("/revision/?user=colleague").content.decode()
    assert "I-FRESH" in by_user and "I-OVERDUE" not in by_user
    refused = client.get("/revision/?action=refused").content.decode()
    assert "I-SODER" in refused and "I-FRESH" not in refused
    assert "I-ABROAD" not in client.get("/revision/").content.decode()  # not this municipality's


def test_an_auditor_exports_the_hits_and_the_search_itself_is_logged(client: Client, world, auditor) -> None:  # type: ignore[no-untyped-def]
    reads(client, world)
    client.force_login(auditor)
    response = client.get("/revision/?user=cw&format=csv")
    title, headers, rows = read_excel_csv(response.content.decode())
    assert response["Content-Type"].startswith("text/csv")
    assert title["Sökning"] == "user=cw" and headers[4] == "Poster"
    assert {r[4] for r in rows} == {"I-OVERDUE", "I-SODER"}
    searched = AuditEntry.objects.get(kind="audit", action="export")
    assert (searched.username, searched.record_ids) == ("granskare", ["user=cw"])


def test_a_bad_period_is_explained(client: Client, world, auditor) -> None:  # type: ignore[no-untyped-def]
    client.force_login(auditor)
    response = client.get("/revision/?date_from=2026-05-01&date_to=2026-04-01")
    assert response.status_code == 400 and "före startdatumet" in response.content.decode()


@pytest.mark.parametrize("persona", ["caseworker", "manager", "analyst", "procurement", "outsider"])
def test_only_auditors_read_the_audit_log(client: Client, world, persona: str) -> None:  # type: ignore[no-untyped-def]
    client.force_login(getattr(world, persona))
    assert client.get("/revision/").status_code == 403
