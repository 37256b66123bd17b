from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test import Client

from tests.followups.helpers import form_data, post_followup
from tests.personas import World
from utfall.core.models import AppendOnly, AuditEntry, ChangeRecord
from utfall.followups.forms import initial_for_correction
from utfall.followups.models import FollowUp

pytestmark = pytest.mark.django_db


@pytest.fixture
def followup(client: Client, world: World) -> FollowUp:
    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"])
    client.logout()
    return FollowUp.objects.get()


def correction(followup: FollowUp, **changes: object) -> dict[str, object]:
    data = {k: v for k, v in initial_for_correction(followup).items() if v not in (None, "")}
    data["date"] = followup.date.isoformat()
    data.update({"reason": "Fel svar registrerat på fråga 3", **changes})
    return data


def test_it_corrects_a_followup_as_a_new_version_and_keeps_the_old(
    client: Client, world: World, followup: FollowUp
) -> None:
    client.force_login(world.caseworker)
    response = client.post(
        f"/uppfoljningar/{followup.pk}/ratta/", correction(followup, q3="no", assessment="deficient")
    )
    assert response.status_code == 302
    followup.refresh_from_db()
    assert followup.version == 2 and followup.assessment == "deficient"
    assert followup.answers.get(question__code="q3").option.code == "no"
    old = ChangeRecord.objects.get(kind="followups", record_id=followup.followup_id)
    assert (old.version, old.changed_by, old.reason) == (
        1,
        world.caseworker,
        "Fel svar registrerat på fråga 3",
    )
    assert old.data["answers"]["q3"] == "yes_somewhat" and old.data["assessment"] == "approved"
    assert old.municipality == world.municipality
    page = client.get(f"/uppfoljningar/{followup.pk}/").content.decode()
    assert (
        "Nuvarande version (2)" in page and "Fel svar registrerat på fråga 3" in page and "Version 1" in page
    )
    # The earlier version reads in words, as the caseworker answered it, not as stored codes.
    earlier = page.split("Visa innehållet i versionen")[1]
    assert "<dt>Känner du dig nöjd med stödet du får från" in earlier
    assert "<dd>Ja, till viss del</dd>" in earlier and "yes_somewhat" not in earlier
    assert "<dd>Godkänt</dd>" in earlier and "<dd>Genomförd</dd>" in earlier


def test_a_resent_correction_makes_one_version(client: Client, world: World, followup: FollowUp) -> None:
    client.force_login(world.caseworker)
    data = correction(followup, q3="no")
    client.post(f"/uppfoljningar/{followup.pk}/ratta/", data)
    response = client.post(f"/uppfoljningar/{followup.pk}/ratta/", data)
    assert response.status_code == 302
    assert FollowUp.objects.get().version == 2 and ChangeRecord.objects.count() == 1


def test_a_correction_on_a_stale_version_is_refused(client: Client, world: World, followup: FollowUp) -> None:
    client.force_login(world.caseworker)
    stale = correction(followup, q3="no")
    client.post(f"/uppfoljningar/{followup.pk}/ratta/", correction(followup, q1="no"))
    response = client.post(f"/uppfoljningar/{followup.pk}/ratta/", stale)
    assert response.status_code == 422 and "Någon annan har rättat" in response.content.decode()
    assert FollowUp.objects.get().version == 2


def test_a_correction_needs_a_reason(client: Client, world: World, followup: FollowUp) -> None:
    client.force_login(world.caseworker)
    response = client.post(f"/uppfoljningar/{followup.pk}/ratta/", correction(followup, reason=""))
    assert response.status_code == 422 and "Skriv varför uppföljningen rättas." in response.content.decode()
    assert FollowUp.objects.get().version == 1


def test_the_unit_manager_may_correct_but_a_colleague_may_not(
    client: Client, world: World, followup: FollowUp
) -> None:
    client.force_login(world.colleague)
    assert client.get(f"/uppfoljningar/{followup.pk}/").status_code == 200  # may read
    assert "Rätta uppföljningen" not in client.get(f"/uppfoljningar/{followup.pk}/").content.decode()
    assert client.post(f"/uppfoljningar/{followup.pk}/ratta/", correction(followup)).status_code == 403
    client.force_login(world.manager)
    assert (
        client.post(f"/uppfoljningar/{followup.pk}/ratta/", correction(followup, q1="no")).status_code == 302
    )
    assert FollowUp.objects.get().version == 2


@pytest.mark.parametrize("persona", ["other_unit", "foreign"])
def test_other_units_see_nothing(client: Client, world: World, followup: FollowUp, persona: str) -> None:
    client.force_login(getattr(world, persona))
    assert client.get(f"/uppfoljningar/{followup.pk}/").status_code == 404
    assert client.post(f"/uppfoljningar/{followup.pk}/ratta/", correction(followup)).status_code == 404
    assert client.get(f"/uppfoljningar/{followup.pk + 1000}/").status_code == 404  # alike


@pytest.mark.parametrize("persona", ["analyst", "outsider"])
def test_roles_without_case_access_cannot_correct(
    client: Client, world: World, followup: FollowUp, persona: str
) -> None:
    client.force_login(getattr(world, persona))
    assert client.post(f"/uppfoljningar/{followup.pk}/ratta/", correction(followup)).status_code == 403
    assert FollowUp.objects.get().version == 1


def test_correct_refuses_other_methods(client: Client, world: World, followup: FollowUp) -> None:
    client.force_login(world.caseworker)
    assert client.put(f"/uppfoljningar/{followup.pk}/ratta/").status_code == 405
    assert client.post(f"/uppfoljningar/{followup.pk}/").status_code == 405


def test_reading_a_followup_is_audited(client: Client, world: World, followup: FollowUp) -> None:
    client.force_login(world.colleague)
    client.get(f"/uppfoljningar/{followup.pk}/")
    entry = AuditEntry.objects.filter(user=world.colleague).get()
    assert (entry.action, entry.kind, entry.record_ids) == ("view", "followups", [followup.followup_id])


def test_the_audit_log_refuses_update_and_delete(world: World, followup: FollowUp) -> None:
    entry = AuditEntry.objects.create(
        municipality=world.municipality, user=world.caseworker, username="cw", action="view",
        kind="followups", record_ids=["X"], where="/",
    )  # fmt: skip
    entry.username = "someone else"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(username="x")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.all().delete()
    # Below the ORM, the database refuses too.
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditentry SET username = 'x' WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).username == "cw"


def test_no_identity_number_reaches_the_audit_log(client: Client, world: World) -> None:
    from tests.personas import identity_number

    client.force_login(world.caseworker)
    client.get("/uppfoljningar/")
    post_followup(client, world.interventions["overdue"], form_data())
    text = " ".join(str(v) for v in AuditEntry.objects.values_list())
    for n in range(1, 6):
        number = identity_number(n)
        assert number not in text and number.replace("-", "") not in text
