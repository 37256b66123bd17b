"""Contract and operations follow-up records on the provider page, beside results and cases."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.personas import World, make_user
from utfall.organisations.models import Role
from utfall.oversight import actions
from utfall.oversight.models import Document, FollowUpRecord
from utfall.registry.models import Contract

pytestmark = pytest.mark.django_db


def test_a_contract_follow_up_with_an_attachment_is_shown_on_the_provider_page_with_its_cases(
    world: World, client: Client
) -> None:
    contract = Contract.objects.create(municipality=world.municipality, contract_id="K7", provider=world.provider,
                                       form="lov", valid_from="2024-01-01")  # fmt: skip
    case = actions.open_case(request=None, user=world.analyst, provider=world.provider, owner=world.analyst,
                             title="Brister i dokumentationen")  # fmt: skip
    client.force_login(world.procurement)
    url = f"/utforare/{world.provider.provider_id}/ny-uppfoljning/"
    data = {"kind": "contract", "date": "2026-03-01", "contract": contract.pk, "scope": "Avtalets krav 4.2",
            "findings": "Genomförandeplaner saknas för 3 av 10", "verdict": "remarks",
            "file": SimpleUploadedFile("rapport.txt", b"Granskningsrapport")}  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"].endswith("#uppfoljning")
    record = FollowUpRecord.objects.get()
    assert (record.kind, record.verdict, record.contract) == ("contract", "remarks", contract)
    assert Document.objects.get().record == record
    page = client.get(f"/resultat/utforare/{world.provider.provider_id}/").content.decode()
    for text in ("Avtalsuppföljning", "Med anmärkning", "Genomförandeplaner saknas", "rapport.txt",
                 case.reference, "Alla indikatorer mot kommunen"):  # fmt: skip
        assert text in page


def test_a_bad_record_is_refused_field_by_field_and_stores_nothing(world: World, client: Client) -> None:
    other = make_user("other-provider-owner", world.municipality, [], Role.PROCUREMENT)
    foreign = Contract.objects.create(municipality=world.municipality, contract_id="K9",
                                      provider=_second_provider(world), form="lou", valid_from="2024-01-01")  # fmt: skip
    client.force_login(other)
    url = f"/utforare/{world.provider.provider_id}/ny-uppfoljning/"
    response = client.post(url, {"kind": "operations", "date": "2999-01-01", "contract": foreign.pk,
                                 "scope": "Rutiner", "findings": "", "verdict": "serious"})  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 400
    assert "Datum</a>: Datumet ligger i framtiden." in html
    assert "Iakttagelser</a>: Skriv vad uppföljningen visade." in html
    assert "Avtal</a>:" in html
    assert "Rutiner" in html  # what was typed is kept
    assert not FollowUpRecord.objects.exists()


def test_a_provider_account_does_not_see_the_oversight_records(world: World, client: Client) -> None:
    account = make_user("utforarkonto", world.municipality, [], Role.PROVIDER)
    account.provider = world.provider
    account.save()
    client.force_login(account)
    page = client.get(f"/resultat/utforare/{world.provider.provider_id}/").content.decode()
    assert "Avtals- och verksamhetsuppföljningar" not in page
    assert client.get(f"/utforare/{world.provider.provider_id}/ny-uppfoljning/").status_code == 403


def _second_provider(world: World) -> Any:
    from utfall.registry.models import Provider

    return Provider.objects.create(
        municipality=world.municipality, provider_id="P2", name="Annan", ownership="private"
    )
