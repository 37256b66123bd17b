"""A municipality's own local instruments (issue 16 point 2): made and published by its own
instrument editors, used inside that municipality only; another municipality neither sees,
uses nor edits them (pages, API, import), and the editors cannot touch shared instruments."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from tests.personas import World, make_user
from utfall.core.services import create_api_token
from utfall.followups.models import FollowUp
from utfall.followups.services import instruments_for
from utfall.instruments.models import Instrument, InstrumentVersion
from utfall.interchange.importer import import_files
from utfall.organisations.models import Role, User

pytestmark = pytest.mark.django_db

QUESTION = {
    "code": "lok_trivs",
    "text": "Trivs du i boendet?",
    "help_text": "",
    "condition_question": "",
    "options-TOTAL_FORMS": "2",
    "options-INITIAL_FORMS": "0",
    "options-MIN_NUM_FORMS": "0",
    "options-MAX_NUM_FORMS": "1000",
    "options-0-code": "ja",
    "options-0-label": "Ja",
    "options-0-positive": "on",
    "options-0-counts": "on",
    "options-1-code": "nej",
    "options-1-label": "Nej",
    "options-1-counts": "on",
}


def editor(world: World, name: str = "formular", *, other: bool = False) -> User:
    municipality = world.other_municipality if other else world.municipality
    return make_user(name, municipality, [], Role.INSTRUMENT_EDITOR)


def make_local(client: Client, world: World) -> InstrumentVersion:
    """The first municipality's editor makes, fills and publishes a local instrument for HVB youth."""
    client.force_login(editor(world))
    response = client.post("/instrument/nytt-lokalt/", {"name": "Boendeenkät", "code": "boende"})
    assert response.status_code == 302, response.content.decode()
    instrument = Instrument.objects.get(name="Boendeenkät")
    assert instrument.code == "testkommun-boende" and instrument.municipality == world.municipality
    base = f"/instrument/{instrument.code}/1/redigera/"
    assert client.post(base + "ny-fraga/", QUESTION).status_code == 302
    from utfall.registry.models import Service

    hvb = Service.objects.get(code="hvb_youth")
    assert client.post(base, {"respondents": ["client"], "services": [hvb.pk]}).status_code == 302
    today = timezone.localdate().isoformat()
    assert (
        client.post(f"/instrument/{instrument.code}/1/publicera/", {"published_on": today}).status_code == 302
    )
    version = InstrumentVersion.objects.get(instrument=instrument, version=1)
    assert version.status == InstrumentVersion.Status.PUBLISHED
    client.logout()
    return version


def test_a_municipalitys_instrument_editor_makes_and_publishes_a_local_instrument_used_at_home(
    client: Client, world: World
) -> None:
    version = make_local(client, world)
    assert version in instruments_for(world.interventions["overdue"])
    client.force_login(world.caseworker)
    page = client.get(
        f"/uppfoljningar/ny/{world.interventions['overdue'].pk}/?instrument={version.instrument.code}"
    )
    assert "Trivs du i boendet?" in page.content.decode()
    assert "Boendeenkät" in client.get("/metodstod/").content.decode()


def test_the_local_editor_cannot_touch_shared_instruments_or_its_admin(client: Client, world: World) -> None:
    client.force_login(editor(world))
    before = InstrumentVersion.objects.count()
    assert client.get("/instrument/").status_code == 200
    assert "Stockholms" not in client.get("/instrument/").content.decode()
    assert client.post("/instrument/stockholm-2021/ny-version/").status_code == 403
    assert client.get("/instrument/stockholm-2021/1/").status_code == 403
    assert InstrumentVersion.objects.count() == before


def test_another_municipality_neither_sees_nor_edits_nor_uses_a_local_instrument(
    client: Client, world: World
) -> None:
    version = make_local(client, world)
    code = version.instrument.code
    client.force_login(editor(world, "grannformular", other=True))
    assert code not in client.get("/instrument/").content.decode()
    for url in (
        f"/instrument/{code}/1/",
        f"/instrument/{code}/1/redigera/",
        f"/instrument/{code}/1/forhandsvisning/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/instrument/{code}/ny-version/").status_code == 404
    assert InstrumentVersion.objects.filter(instrument=version.instrument).count() == 1

    # The system administrator edits the shared instruments, not a municipality's own.
    admin = User.objects.create_user("sysadmin", is_staff=True)
    admin.groups.add(Group.objects.get(name=Role.SYSTEM_ADMIN))
    client.force_login(admin)
    assert client.post(f"/instrument/{code}/ny-version/").status_code == 404

    # The other municipality's caseworker: not in the method support, the form or the API.
    client.force_login(world.foreign)
    assert "Boendeenkät" not in client.get("/metodstod/").content.decode()
    assert client.get(f"/metodstod/{code}/").status_code == 404
    abroad = world.interventions["abroad"]
    assert version not in instruments_for(abroad)
    page = client.get(f"/uppfoljningar/ny/{abroad.pk}/?instrument={code}").content.decode()
    assert "Trivs du i boendet?" not in page
    token = create_api_token(user=world.foreign, name="test")
    body = {"intervention_id": "I-ABROAD", "instrument": f"{code}@1", "respondent": "client",
            "status": "completed", "answers": {"lok_trivs": "ja"}, "assessment": "approved"}  # fmt: skip
    response = client.post(
        "/api/v1/followups", json.dumps(body), content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k-local"},
    )  # fmt: skip
    assert response.status_code == 422, response.content
    assert not FollowUp.objects.filter(intervention=abroad).exists()


def test_the_import_of_another_municipality_refuses_a_local_instrument(
    client: Client, world: World, write_csv
) -> None:  # type: ignore[no-untyped-def]
    version = make_local(client, world)
    today = dt.date.today().isoformat()
    followups = write_csv(
        "followups.csv",
        "followup_id,intervention_id,date,instrument,respondent,status,lok_trivs,assessment",
        f"F9,I-ABROAD,{today},{version.key},client,completed,ja,approved",
    )
    report = import_files([followups], municipality=world.other_municipality)
    assert not report.ok and not report.stored
    assert any(i.column in ("instrument", "lok_trivs") for i in report.issues), report.issues
    assert not FollowUp.objects.filter(intervention=world.interventions["abroad"]).exists()
