"""Rules about one record that must hold whatever the path: the user's units and provider
belong to the user's municipality; an ID's existence elsewhere is not told; a second
follow-up on the same day needs a confirmation."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client

from tests.followups.helpers import form_data, post_followup
from utfall.followups.models import FollowUp
from utfall.organisations.models import User

pytestmark = pytest.mark.django_db


def test_a_user_cannot_get_a_unit_of_another_municipality(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError), transaction.atomic():
        world.caseworker.units.add(world.abroad)
    assert list(world.caseworker.units.all()) == [world.norr]


def test_a_user_cannot_get_a_provider_of_another_municipality(world) -> None:  # type: ignore[no-untyped-def]
    user = User(username="lev", municipality=world.municipality, provider=world.other_provider)
    with pytest.raises(ValidationError) as raised:
        user.full_clean()
    assert "provider" in raised.value.message_dict


def test_the_admin_says_so_on_the_field(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    root = User.objects.create_superuser(
        "root", password="a-long-password-1", municipality=world.municipality
    )
    client.force_login(root)
    cw = world.caseworker
    response = client.post(f"/admin/organisations/user/{cw.pk}/change/", {
        "username": cw.username, "municipality": world.municipality.pk, "units": [world.abroad.pk],
        "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00", "is_active": "on",
    })  # fmt: skip
    assert response.status_code == 200
    assert "hör till en annan kommun" in response.content.decode()
    assert list(cw.units.all()) == [world.norr]


def test_registering_an_existing_id_does_not_tell_that_it_exists(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    from tests.personas import identity_number

    response = client.post("/insatser/ny/", {
        "person_id": identity_number(40), "intervention_id": "I-SODER", "service": "hvb_youth",
        "provider_id": "P1", "unit": "norr", "decided_on": "2026-01-01", "started_on": "2026-01-02",
    })  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 422
    assert "finns redan" not in html and "I-SODER" not in html.split("<form")[0]
    assert "kan inte användas" in html


def test_a_second_followup_on_the_same_day_needs_a_confirmation(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    intervention = world.interventions["overdue"]
    assert post_followup(client, intervention).status_code == 302
    refused = post_followup(client, intervention)  # a new form: another key, same date
    assert refused.status_code == 422
    assert "redan en uppföljning med det här datumet" in refused.content.decode()
    assert FollowUp.objects.filter(intervention=intervention).count() == 1
    confirmed = post_followup(client, intervention, form_data(same_day="on"))
    assert confirmed.status_code == 302
    assert FollowUp.objects.filter(intervention=intervention).count() == 2


def test_a_resent_form_is_still_the_same_followup_not_a_refusal(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    intervention = world.interventions["overdue"]
    data = form_data()
    assert post_followup(client, intervention, data).status_code == 302
    assert post_followup(client, intervention, data).status_code == 302
    assert FollowUp.objects.filter(intervention=intervention).count() == 1


def test_the_api_refuses_a_second_followup_on_the_same_day_unless_confirmed(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    import json

    client.force_login(world.caseworker)
    body = {"intervention_id": "I-OVERDUE", "respondent": "client", "status": "declined"}

    def send(key: str, **extra: object) -> int:
        return int(client.post("/api/v1/followups", json.dumps({**body, **extra}), content_type="application/json",
                               headers={"Idempotency-Key": key}).status_code)  # fmt: skip

    assert send("k1") == 201
    assert send("k1") == 201  # the same request again: the same follow-up
    assert send("k2") == 409
    assert FollowUp.objects.filter(intervention=world.interventions["overdue"]).count() == 1
    assert send("k3", confirm_same_day=True) == 201
    assert FollowUp.objects.filter(intervention=world.interventions["overdue"]).count() == 2
