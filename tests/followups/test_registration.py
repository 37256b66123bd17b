from __future__ import annotations

from html import unescape

import pytest
from django.apps import apps
from django.test import Client

from tests.personas import World, identity_number
from utfall.core.models import AuditEntry
from utfall.registry.models import Client as ClientRecord
from utfall.registry.models import Intervention

pytestmark = pytest.mark.django_db
NEW = 42


def data(**changes: str) -> dict[str, str]:
    return {
        "person_id": identity_number(NEW),
        "service": "hvb_youth",
        "provider_id": "P1",
        "unit": "norr",
        "decided_on": "2026-01-10",
        "started_on": "2026-01-12",
        **changes,
    }


def test_it_registers_an_intervention_with_a_pseudonym_only(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    assert client.get("/insatser/ny/").status_code == 200
    response = client.post("/insatser/ny/", data(intervention_id="ÄR-2026-17"))
    assert response.status_code == 302
    item = Intervention.objects.get(intervention_id="ÄR-2026-17")
    assert response["Location"] == f"/insatser/{item.pk}/"
    assert len(item.client.pseudonym) == 64 and item.client.birth_year == 2009
    assert item.unit == world.norr and item.municipality == world.municipality
    number = identity_number(NEW)
    for model in apps.get_models():  # invariant 1: stored nowhere
        for row in model.objects.values_list():
            text = " ".join(str(v) for v in row)
            assert number not in text and number.replace("-", "") not in text, model.__name__
    page = client.get(response["Location"]).content.decode()
    assert "Insatsen är registrerad." in page and number not in page
    assert AuditEntry.objects.filter(action="create", record_ids=["ÄR-2026-17"]).exists()


def test_it_reuses_the_clients_pseudonym(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    client.post("/insatser/ny/", data())
    client.post("/insatser/ny/", data(service="outpatient_youth"))
    assert ClientRecord.objects.filter(municipality=world.municipality).count() == 5  # 4 from the world + 1
    assert (
        Intervention.objects.filter(unit=world.norr, decided_on="2026-01-10")
        .values("client")
        .distinct()
        .count()
        == 1
    )


def test_it_explains_a_bad_identity_number_without_repeating_it(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    bad = identity_number(NEW)[:-1] + str((int(identity_number(NEW)[-1]) + 1) % 10)
    response = client.post("/insatser/ny/", data(person_id=bad, ended_on="2026-02-01"))
    html = unescape(response.content.decode())
    assert response.status_code == 422
    assert "ogiltigt person- eller samordningsnummer: kontrollsiffran stämmer inte" in html
    assert "Välj avslutsorsak när slutdatum är ifyllt." in html
    assert not Intervention.objects.filter(
        unit=world.norr, service__code="hvb_youth", started_on="2026-01-12"
    ).exists()


def test_it_registers_only_for_the_users_own_units(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    response = client.post("/insatser/ny/", data(unit="soder"))
    assert response.status_code == 422
    assert Intervention.objects.count() == 5


@pytest.mark.parametrize("persona", ["analyst", "outsider"])
def test_others_cannot_register(client: Client, world: World, persona: str) -> None:
    client.force_login(getattr(world, persona))
    assert client.post("/insatser/ny/", data()).status_code == 403
    assert Intervention.objects.count() == 5


def test_registration_refuses_other_methods(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    assert client.put("/insatser/ny/").status_code == 405


def test_the_intervention_page_is_behind_the_funnel_and_audited(client: Client, world: World) -> None:
    item = world.interventions["overdue"]
    client.force_login(world.colleague)
    assert client.get(f"/insatser/{item.pk}/").status_code == 200
    assert AuditEntry.objects.filter(user=world.colleague, record_ids=["I-OVERDUE"], action="view").exists()
    for persona in ("other_unit", "foreign"):
        client.force_login(getattr(world, persona))
        assert client.get(f"/insatser/{item.pk}/").status_code == 404


def test_it_offers_the_providers_of_the_chosen_service(client: Client, world: World) -> None:
    from utfall.registry.models import Contract, Provider, Service

    other = Provider.objects.create(
        municipality=world.municipality, provider_id="P2", name="Vuxenhemmet", ownership="private"
    )
    contract = Contract.objects.create(
        municipality=world.municipality, contract_id="A2", provider=other, form="lou", valid_from="2025-01-01"
    )
    contract.services.add(Service.objects.exclude(code="hvb_youth").first())
    client.force_login(world.caseworker)
    html = client.get("/insatser/ny/").content.decode()
    assert 'data-filter-by="service"' in html
    assert f'value="P2" data-services="{contract.services.get().code}"' in html
    response = client.post("/insatser/ny/", data(provider_id="P2"))
    assert response.status_code == 422
    assert "Utföraren har inget avtal för den valda insatsen." in unescape(response.content.decode())


def test_it_refuses_a_birth_year_before_1910(client: Client, world: World) -> None:
    import datetime as dt

    client.force_login(world.caseworker)
    old = identity_number(NEW, born=dt.date(1905, 5, 1))
    response = client.post("/insatser/ny/", data(person_id=old))
    assert response.status_code == 422
    html = unescape(response.content.decode())
    assert "Numret ger födelseåret 1905, vilket är orimligt (tidigast 1910). Kontrollera århundradet." in html


def test_an_intervention_is_ended_in_the_browser_with_its_history_kept(client: Client, world: World) -> None:
    from utfall.core.models import ChangeRecord

    client.force_login(world.caseworker)
    item = world.interventions["overdue"]
    page = client.get(f"/insatser/{item.pk}/").content.decode()
    assert f"/insatser/{item.pk}/andra/?avsluta" in page
    form = client.get(f"/insatser/{item.pk}/andra/?avsluta").content.decode()
    assert 'name="ended_on"' in form
    base = {
        "provider_id": "P1",
        "decided_on": item.decided_on.isoformat(),
        "started_on": item.started_on.isoformat(),
    }
    response = client.post(
        f"/insatser/{item.pk}/andra/", {**base, "ended_on": "2026-11-30", "reason": "Avslutad"}
    )
    assert response.status_code == 422
    assert "Välj avslutsorsak när slutdatum är ifyllt." in unescape(response.content.decode())
    item.refresh_from_db()
    assert item.ended_on is None
    ended = {**base, "ended_on": "2026-11-30", "end_reason": "goals_met", "reason": "Målen nådda"}
    response = client.post(f"/insatser/{item.pk}/andra/", ended)
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.ended_on.isoformat() == "2026-11-30" and item.end_reason == "goals_met"
    change = ChangeRecord.objects.get(kind="interventions", record_id=item.intervention_id)
    assert (
        change.data["ended_on"] == ""
        and change.reason == "Målen nådda"
        and change.changed_by == world.caseworker
    )
    page = unescape(client.get(f"/insatser/{item.pk}/").content.decode())
    assert "Målen nådda" in page and "Version 1 ersatt av cw" in page
    # The earlier version names its provider as a person reads it, not by its code (walk of 2026-12-02).
    assert f"(då: {world.provider.name}, " in page and "(då: P1," not in page


def test_the_intervention_forms_take_a_typed_date(client: Client, world: World) -> None:
    """A keyboard user types "2026-11-20": a text field with its format named, not Chromium's
    three-part type=date, which typing a whole date does not fill (the keyboard walk of 2026-12-02)."""
    client.force_login(world.caseworker)
    item = world.interventions["overdue"]
    for path in ("/insatser/ny/", f"/insatser/{item.pk}/andra/"):
        form = client.get(path).content.decode()
        assert 'type="date"' not in form and 'name="started_on"' in form
        assert "ÅÅÅÅ-MM-DD" in form
    response = client.post(f"/insatser/{item.pk}/andra/", {"provider_id": "P1", "decided_on": "20 nov",
                                                          "started_on": item.started_on.isoformat(), "reason": "x"})  # fmt: skip
    assert "Ange datum som ÅÅÅÅ-MM-DD." in unescape(response.content.decode())


def test_others_cannot_change_an_intervention(client: Client, world: World) -> None:
    client.force_login(world.other_unit)
    item = world.interventions["overdue"]
    assert client.get(f"/insatser/{item.pk}/andra/").status_code == 404
    assert client.post(f"/insatser/{item.pk}/andra/", {"reason": "x"}).status_code == 404


def test_new_ids_can_be_read_aloud(client: Client, world: World) -> None:
    import re

    client.force_login(world.caseworker)
    client.post("/insatser/ny/", data())
    item = Intervention.objects.get(unit=world.norr, started_on="2026-01-12")
    assert re.fullmatch(r"I(-[0-9A-HJKMNP-TV-Z]{4}){3}", item.intervention_id), item.intervention_id
