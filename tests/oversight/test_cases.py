"""In-depth follow-up cases: every state, notes, documents, actions, history, audit, deadlines."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.personas import World, make_user
from utfall.core.models import AuditEntry
from utfall.organisations.models import Role
from utfall.oversight import actions
from utfall.oversight.models import Case, CaseAction, CaseEvent, Document
from utfall.registry.models import Contract

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _case(world: World, **kwargs: Any) -> Case:
    return actions.open_case(request=None, user=world.analyst, provider=world.provider, owner=world.analyst,
                             title="Fördjupad uppföljning av Solgläntan", **kwargs)  # fmt: skip


def _messages(response: Any) -> str:
    return response.content.decode()


def test_it_takes_a_case_through_every_state_with_notes_a_document_actions_and_full_history(
    world: World, client: Client
) -> None:
    contract = Contract.objects.create(municipality=world.municipality, contract_id="K1", provider=world.provider,
                                       form="lou", valid_from=dt.date(2024, 1, 1))  # fmt: skip
    client.force_login(world.procurement)
    response = client.post("/fordjupade-uppfoljningar/ny/", {
        "provider": world.provider.pk, "title": "Många Bristande", "reason": "Tre larm i våras",
        "owner": world.procurement.pk, "contracts": [contract.pk],
    })  # fmt: skip
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/fordjupade-uppfoljningar/{case.pk}/"
    assert (case.state, case.reference, case.origin) == ("open", "FU-0001", "manual")
    base = f"/fordjupade-uppfoljningar/{case.pk}"
    assert client.post(f"{base}/status/", {"state": "investigating"}).status_code == 302
    assert (
        client.post(f"{base}/anteckning/", {"text": "Möte bokat med verksamhetschefen."}).status_code == 302
    )
    upload = SimpleUploadedFile("Protokoll möte.pdf", PDF, content_type="application/octet-stream")
    assert client.post(f"{base}/dokument/", {"file": upload}).status_code == 302
    deadline = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    plan = {"kind": "action_plan", "decided_on": timezone.localdate().isoformat(), "deadline": deadline,
            "description": "Rutin för genomförandeplaner"}  # fmt: skip
    assert client.post(f"{base}/atgard/", plan).status_code == 302
    assert client.post(f"{base}/status/", {"state": "action_decided"}).status_code == 302
    action = CaseAction.objects.get()
    done = client.post(f"/fordjupade-uppfoljningar/atgarder/{action.pk}/genomford/",
                       {"done_on": timezone.localdate().isoformat()})  # fmt: skip
    assert done.status_code == 302
    assert client.post(f"{base}/status/", {"state": "closed", "comment": "Planen följd."}).status_code == 302
    case.refresh_from_db()
    assert case.state == "closed" and case.closed_at is not None
    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds == ["opened", "state", "note", "document", "action", "state", "action_done", "state"]
    page = _messages(client.get(f"{base}/"))
    for text in ("Möte bokat med verksamhetschefen.", "Protokoll möte.pdf", "Åtgärdsplan med tidsfrist",
                 "Planen följd.", "Avslutad", "K1"):  # fmt: skip
        assert text in page
    document = Document.objects.get()
    assert document.content_type == "application/pdf" and document.size == len(PDF)
    download = client.get(f"/dokument/{document.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF  # type: ignore[attr-defined]
    assert "attachment" in download["Content-Disposition"]
    writes = AuditEntry.objects.filter(kind="cases", action__in=["create", "correct"], record_ids=["FU-0001"])
    assert writes.count() >= 7  # opened, 3 moves… each change is in the audit log
    assert AuditEntry.objects.filter(kind="documents", action="view").count() == 1


def test_it_refuses_a_step_that_is_not_allowed_and_keeps_what_was_typed(world: World, client: Client) -> None:
    case = _case(world)
    client.force_login(world.analyst)
    base = f"/fordjupade-uppfoljningar/{case.pk}"
    skipped = client.post(f"{base}/status/", {"state": "closed", "comment": "Klart"})
    assert skipped.status_code == 400 and "kan inte flyttas till avslutad" in _messages(skipped)
    client.post(f"{base}/status/", {"state": "investigating"})
    early = client.post(f"{base}/status/", {"state": "action_decided"})
    assert early.status_code == 400 and "Registrera minst en åtgärd" in _messages(early)
    no_reason = client.post(f"{base}/atgard/", {"kind": "no_action", "decided_on": "2026-01-10",
                                                "description": "Utföraren har redan åtgärdat"})  # fmt: skip
    html = _messages(no_reason)
    assert no_reason.status_code == 400 and "Skäl</a>: Skriv skälet" in html
    assert "Utföraren har redan åtgärdat" in html  # nothing typed is lost
    no_deadline = client.post(f"{base}/atgard/", {"kind": "action_plan", "decided_on": "2026-01-10"})
    assert "Tidsfrist</a>: En åtgärdsplan behöver en tidsfrist." in _messages(no_deadline)
    termination = client.post(f"{base}/atgard/", {"kind": "termination", "decided_on": "2026-01-10"})
    assert "Avtal</a>: Välj det avtal som hävs." in _messages(termination)
    case.refresh_from_db()
    assert case.state == "investigating" and not CaseAction.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("rapport.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "inte av en tillåten typ"),
        ("bild.png", b"GIF89a\x01\x00\x01\x00\x00\xff\x00", "inte av en tillåten typ"),
        ("tom.txt", b"", "Filen är tom"),
        ("stor.txt", b"x" * 2048, "största tillåtna storlek"),
    ],
)
def test_a_document_is_checked_by_its_content_and_size_and_a_refused_one_stores_nothing(
    world: World, client: Client, settings: Any, name: str, content: bytes, error: str
) -> None:
    settings.UTFALL_DOCUMENT_MAX_BYTES = 1024
    case = _case(world)
    client.force_login(world.analyst)
    response = client.post(
        f"/fordjupade-uppfoljningar/{case.pk}/dokument/", {"file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 400 and error in _messages(response)
    assert not Document.objects.exists()
    folder = settings.UTFALL_DOCUMENT_DIR
    assert not folder.exists() or not any(folder.iterdir())


def test_documents_and_cases_are_read_only_within_the_municipality_and_by_the_roles_that_work_on_cases(
    world: World, client: Client
) -> None:
    case = _case(world)
    document = actions.attach_to_case(request=None, user=world.analyst, case=case,
                                      upload=SimpleUploadedFile("a.txt", "Anteckning från besöket".encode()))  # fmt: skip
    foreign_analyst = make_user("foreign-analyst", world.other_municipality, [], Role.ANALYST)
    client.force_login(foreign_analyst)
    assert client.get(f"/dokument/{document.pk}/").status_code == 404
    assert client.get(f"/fordjupade-uppfoljningar/{case.pk}/").status_code == 404
    client.force_login(world.caseworker)
    assert client.get(f"/dokument/{document.pk}/").status_code == 403
    client.force_login(world.manager)
    assert client.get(f"/dokument/{document.pk}/").status_code == 200


def test_an_overdue_deadline_is_on_the_start_page_of_the_owner_and_the_unit_manager_and_sent_by_email(
    world: World, client: Client
) -> None:
    case = _case(world)
    today = timezone.localdate()
    actions.decide_action(request=None, user=world.analyst, case=case, kind="action_plan",
                          decided_on=today - dt.timedelta(days=40), deadline=today - dt.timedelta(days=1),
                          description="Ny rutin")  # fmt: skip
    actions.decide_action(request=None, user=world.analyst, case=case, kind="action_plan",
                          decided_on=today, deadline=today + dt.timedelta(days=10))  # fmt: skip
    for user in (world.analyst, world.manager):  # the owner; the manager of a unit that uses the provider
        client.force_login(user)
        html = _messages(client.get("/"))
        assert "Försenade åtgärder i fördjupade uppföljningar (1)" in html and "FU-0001" in html
    client.force_login(world.procurement)  # neither owner nor unit manager
    assert "Försenade åtgärder" not in _messages(client.get("/"))
    world.analyst.email = "analytiker@example.org"
    world.analyst.save()
    call_command("deadlines", "--base-url", "https://utfall.example.org")
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "FU-0001" in body and "https://utfall.example.org/fordjupade-uppfoljningar/" in body
    assert not re.search(r"I-[A-Z]+|pseudo|Ny rutin", body)  # no intervention, client or note
    call_command("deadlines", "--base-url", "https://utfall.example.org")
    assert len(mail.outbox) == 1  # not twice the same day


def test_a_document_larger_than_the_form_limit_reaches_the_case_page_and_others_do_not(
    world: World, client: Client, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    case = _case(world)
    client.force_login(world.analyst)
    big = SimpleUploadedFile(
        "bilaga.txt", b"rad\n" * 5_000
    )  # 20 kB: over the form limit, under the document limit
    assert client.post(f"/fordjupade-uppfoljningar/{case.pk}/dokument/", {"file": big}).status_code == 302
    assert Document.objects.get().size == 20_000
    client.force_login(world.caseworker)
    other = SimpleUploadedFile("bilaga.txt", b"rad\n" * 5_000)
    assert (
        client.post(f"/uppfoljningar/ny/{world.interventions['overdue'].pk}/", {"f": other}).status_code
        == 413
    )


def test_cases_and_actions_are_exported_for_excel_and_as_json(world: World, client: Client) -> None:
    import csv
    import io
    import json

    case = _case(world)
    actions.decide_action(request=None, user=world.analyst, case=case, kind="sanction", decided_on=dt.date(2026, 3, 1),
                          description="=Vite 50 000 kr")  # fmt: skip
    client.force_login(world.procurement)
    response = client.get("/fordjupade-uppfoljningar/", {"format": "csv"})
    text = response.content.decode("utf-8")
    assert response["Content-Type"].startswith("text/csv") and text.startswith("\ufeffcase;provider_id;")
    [row] = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert (row["case"], row["provider_id"], row["state"]) == ("FU-0001", "P1", "open")
    taken = client.get("/fordjupade-uppfoljningar/", {"format": "actions"}).content.decode("utf-8")
    [action] = list(csv.DictReader(io.StringIO(taken.lstrip("\ufeff")), delimiter=";"))
    assert (
        action["kind"] == "sanction" and action["description"] == "'=Vite 50 000 kr"
    )  # not run as a formula
    data = json.loads(client.get("/fordjupade-uppfoljningar/", {"format": "json"}).content)
    assert data["cases"][0]["actions"][0]["decided_on"] == "2026-03-01"
    api = client.get("/api/v1/cases", {"state": "open"}).json()
    assert api["cases"][0]["case"] == "FU-0001" and api["cases"][0]["actions"][0]["kind"] == "sanction"
    assert AuditEntry.objects.filter(kind="cases", action="export").count() == 4


def test_the_case_list_filters_by_state_and_by_owner(world: World, client: Client) -> None:
    _case(world)
    actions.open_case(request=None, user=world.procurement, provider=world.provider, owner=world.procurement,
                      title="Upphandlarens ärende")  # fmt: skip
    client.force_login(world.procurement)
    assert "FU-0001" in client.get("/fordjupade-uppfoljningar/").content.decode()
    mine = client.get("/fordjupade-uppfoljningar/", {"mina": "1"}).content.decode()
    assert "FU-0002" in mine and "FU-0001" not in mine
    assert "FU-0002" not in client.get("/fordjupade-uppfoljningar/", {"state": "closed"}).content.decode()


def test_a_case_form_with_a_period_that_is_not_one_opens_by_hand(world: World, client: Client) -> None:
    client.force_login(world.analyst)
    response = client.get("/fordjupade-uppfoljningar/ny/", {"utforare": "P1", "period": "<x>"})
    assert response.status_code == 200 and "Öppnas från avvikelseförslaget" not in response.content.decode()
