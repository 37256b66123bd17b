"""No ID column and no free text may hold anything that parses as an identity number."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tests.followups.helpers import form_data, post_followup
from utfall.core.identity import contains_identity_number, format_identity_number
from utfall.core.models import ChangeRecord
from utfall.followups.models import FollowUp
from utfall.registry.models import Intervention

NUMBER = format_identity_number(dt.date(1966, 8, 8), 654)  # valid in form, synthetic
COORDINATION = format_identity_number(dt.date(1985, 6, 15), 123, coordination=True)


@pytest.mark.parametrize(
    "text",
    [
        NUMBER,  # 19660808-6549 form
        NUMBER.replace("-", ""),  # twelve digits
        NUMBER[2:],  # ten digits with dash
        NUMBER[2:].replace("-", ""),  # ten digits
        NUMBER[2:].replace("-", "+"),  # ten digits, aged 100+
        f"rätt är {COORDINATION} enligt beslutet",
        f"insats-{NUMBER[2:].replace('-', '')}",
    ],
)
def test_it_finds_an_identity_number_in_any_form(text: str) -> None:
    assert contains_identity_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "I000030",
        "UI4F2A9C01B2C3",
        "2026-06-30",
        "P-123456",
        "556677-8899",
        "123456789012345",
        "fel datum: 19661308-6549",
    ],
)
def test_it_lets_ordinary_ids_dates_and_org_numbers_through(text: str) -> None:
    assert not contains_identity_number(text)


@pytest.mark.django_db
def test_a_correction_reason_with_an_identity_number_is_refused_and_not_repeated(
    client: Client, world
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    intervention = world.interventions["overdue"]
    post_followup(client, intervention)
    followup = FollowUp.objects.get(intervention=intervention)
    data = form_data(base_version="1", reason=f"rätt är {COORDINATION}")
    response = client.post(f"/uppfoljningar/{followup.pk}/ratta/", data)
    html = response.content.decode()
    assert response.status_code == 422
    assert "person- eller samordningsnummer" in html
    assert html.count(COORDINATION) <= 1  # only in the text box the user typed it into
    assert not ChangeRecord.objects.filter(kind="followups").exists()


@pytest.mark.django_db
def test_an_intervention_id_that_is_an_identity_number_is_refused_in_the_form(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    from tests.personas import identity_number

    client.force_login(world.caseworker)
    response = client.post("/insatser/ny/", {
        "person_id": identity_number(41), "intervention_id": NUMBER, "service": "hvb_youth",
        "provider_id": "P1", "unit": "norr", "decided_on": "2026-01-01", "started_on": "2026-01-02",
    })  # fmt: skip
    assert response.status_code == 422
    assert "person- eller samordningsnummer" in response.content.decode()
    assert not Intervention.objects.filter(intervention_id=NUMBER).exists()


@pytest.mark.django_db
def test_the_admin_refuses_an_identity_number_as_a_unit_code_or_provider_name(
    client: Client, municipality
) -> None:  # type: ignore[no-untyped-def]
    from utfall.organisations.models import Unit, User
    from utfall.registry.models import Provider

    client.force_login(
        User.objects.create_superuser("root", password="a-long-password-1", municipality=municipality)
    )
    unit = client.post(
        "/admin/organisations/unit/add/", {"municipality": municipality.pk, "code": NUMBER, "name": "X"}
    )
    provider = client.post("/admin/registry/provider/add/", {
        "municipality": municipality.pk, "provider_id": "P9", "name": f"HVB {NUMBER[2:]}", "ownership": "private",
    })  # fmt: skip
    assert unit.status_code == provider.status_code == 200
    assert "samordningsnummer" in unit.content.decode()
    assert (
        not Unit.objects.filter(code=NUMBER).exists()
        and not Provider.objects.filter(provider_id="P9").exists()
    )


@pytest.mark.django_db
def test_the_api_refuses_an_identity_number_as_an_id_or_a_reason_and_never_repeats_it(
    client: Client, world
) -> None:  # type: ignore[no-untyped-def]
    import json

    client.force_login(world.caseworker)
    from tests.personas import identity_number

    body = {"intervention_id": NUMBER, "person_id": identity_number(42), "service": "hvb_youth",
            "provider_id": "P1", "unit": "norr", "decided_on": "2026-01-01", "started_on": "2026-01-02"}  # fmt: skip
    created = client.post("/api/v1/interventions", json.dumps(body), content_type="application/json",
                          headers={"Idempotency-Key": "a1"})  # fmt: skip
    assert created.status_code == 422
    assert NUMBER not in created.content.decode() and NUMBER[2:] not in created.content.decode()
    assert not Intervention.objects.filter(intervention_id=NUMBER).exists()

    post_followup(client, world.interventions["overdue"])
    followup = FollowUp.objects.get(intervention=world.interventions["overdue"])
    correction = {"intervention_id": "I-OVERDUE", "respondent": "client", "status": "unreachable",
                  "reason": f"rätt är {COORDINATION}", "base_version": 1}  # fmt: skip
    refused = client.post(f"/api/v1/followups/{followup.followup_id}/corrections", json.dumps(correction),
                          content_type="application/json")  # fmt: skip
    assert refused.status_code == 422 and COORDINATION not in refused.content.decode()
    assert not ChangeRecord.objects.filter(kind="followups").exists()


@pytest.mark.django_db
def test_an_import_refuses_identity_numbers_in_ids_and_names_without_repeating_them(
    write_csv, municipality
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import TODAY
    from tests.interchange.helpers import write_set
    from utfall.interchange.importer import import_files

    files = write_set(write_csv)
    providers = next(p for p in files if p.name.startswith("providers"))
    providers.write_text(providers.read_text().replace("P1,", f"{NUMBER[2:].replace('-', '')},", 1))
    followups = next(p for p in files if p.name.startswith("followups"))
    text = followups.read_text().splitlines()
    text[1] = text[1].replace(text[1].split(",")[0], f"F-{COORDINATION}", 1)
    followups.write_text("\n".join(text) + "\n")
    report = import_files(files, municipality=municipality, today=TODAY)
    messages = "\n".join(map(str, report.issues))
    assert not report.stored
    assert "providers.csv:2: provider_id: får inte innehålla ett person- eller samordningsnummer" in messages
    assert "followup_id: får inte innehålla" in messages
    assert NUMBER[2:].replace("-", "") not in messages and COORDINATION not in messages
