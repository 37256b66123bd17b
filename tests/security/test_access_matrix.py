"""Every page and API endpoint, as every persona, in two municipalities, against the written
matrix in docs/access.md. A URL or API operation without a row in the matrix fails here:
add its row (and its sample arguments below) when you add the endpoint."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tests.followups.helpers import post_followup
from tests.personas import World, make_user
from utfall.followups.models import FollowUp
from utfall.instruments.models import InstrumentVersion
from utfall.organisations.models import Committee, Role
from utfall.procurement import payment
from utfall.registry.models import Contract

pytestmark = pytest.mark.django_db

MATRIX = Path(__file__).resolve().parents[2] / "docs" / "access.md"
PERSONAS = ["anonym", "socialsekreterare", "enhetschef", "utredare", "upphandlare", "utforare", "namnd",
            "granskare", "systemadministrator", "annan_kommun"]  # fmt: skip
#: Django's own admin pages are governed by model permissions; only its entrance is walked.
SKIPPED_NAMESPACES = ("admin", "api-v1")


def read_matrix() -> dict[str, dict[str, str]]:
    """The table between <!-- matrix --> and <!-- /matrix --> in docs/access.md."""
    text = MATRIX.read_text(encoding="utf-8")
    block = text.split("<!-- matrix -->", 1)[1].split("<!-- /matrix -->", 1)[0]
    lines = [line.strip() for line in block.strip().splitlines() if line.strip().startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[1:] == PERSONAS, "the matrix's columns are the personas, in this order"
    matrix = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        matrix[cells[0].strip("`")] = dict(zip(PERSONAS, cells[1:], strict=True))
    return matrix


def page_names() -> list[str]:
    names: list[str] = []

    def walk(patterns: list[Any], namespace: str = "") -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = p.namespace or ""
                if ns in SKIPPED_NAMESPACES:
                    continue
                walk(p.url_patterns, f"{namespace}{ns}:" if ns else namespace)
            elif isinstance(p, URLPattern) and p.name:
                names.append(namespace + p.name)

    walk(get_resolver().url_patterns)
    return [*names, "admin:index"]


def api_operations() -> list[str]:
    from utfall.api import api

    schema = api.get_openapi_schema()
    return [f"{method.upper()} {path}" for path, ops in schema["paths"].items() for method in ops]


def test_every_page_and_api_operation_has_a_row_in_the_matrix() -> None:
    matrix = read_matrix()
    endpoints = [*page_names(), *api_operations()]
    missing = [e for e in endpoints if e not in matrix]
    assert not missing, f"add these to the matrix in docs/access.md: {missing}"
    stale = [e for e in matrix if e not in endpoints]
    assert not stale, f"the matrix names endpoints that no longer exist: {stale}"


# --- walking them ---------------------------------------------------------------------------

POSTS = {"logout", "set_language", "instruments:create_version", "instruments:create_instrument", "instruments:question_action",
         "instruments:delete_draft", "instruments:publish", "oidc_authentication_callback",
         "oversight:case_move", "oversight:case_note", "oversight:case_owner", "oversight:case_document",
         "oversight:case_action", "oversight:action_done",
         "reports:create", "reports:comment", "reports:publish", "reports:correct",
         "procurement:statement_create", "procurement:statement_approve", "procurement:statement_correct",
         "procurement:provider_report", "procurement:provider_respond"}  # fmt: skip
#: Bodies of the page POSTs that need one to succeed (the rest post nothing).
POST_DATA = {
    "reports:create": {"kind": "interim", "date_from": "2026-01-01", "date_to": "2026-06-30"},
    "reports:comment": {"section": "sammanfattning", "text": "Kommentar från matrisen."},
}
#: Destructive ones last, so the draft is there for the pages before them.
LAST = ("instruments:publish", "instruments:delete_draft", "logout")


def sample(world: World) -> dict[str, Any]:
    """Arguments for each page, all of the first municipality (the other one's caseworker is
    'annan_kommun'), and bodies for the writes."""
    client = Client()
    client.force_login(world.caseworker)
    overdue = world.interventions["overdue"]
    post_followup(client, overdue)
    followup = FollowUp.objects.get(intervention=overdue)
    draft = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=1)
    code, number = draft.instrument.code, draft.version
    question = draft.questions.order_by("position").first()
    from utfall.instruments import services

    new = services.new_version(instrument=draft.instrument)
    q = new.questions.order_by("position").first()
    assert question is not None and q is not None
    drafted = {"code": code, "number": new.version}
    from utfall.reports import services as reports

    period = {
        "date_from": dt.date(2026, 1, 1),
        "date_to": dt.date(2026, 6, 30),
        "committee": None,
        "unit": None,
    }
    draft_report = reports.create_report(
        municipality=world.municipality, kind="interim", user=world.analyst, **period
    )
    published = reports.create_report(
        municipality=world.municipality, kind="interim", user=world.analyst, **period
    )
    reports.publish(report=published, user=world.analyst)
    contract = Contract.objects.create(municipality=world.municipality, contract_id="AV1", provider=world.provider,
                                       form="lou", valid_from=dt.date(2025, 1, 1))  # fmt: skip
    statement = payment.draft_statement(contract, dt.date(2025, 1, 1), dt.date(2025, 12, 31), None)
    oversight = oversight_sample(world)
    return {
        **oversight,
        "reports:detail": {"pk": published.pk},
        "reports:provider_card": {"provider_id": world.provider.provider_id},
        "reports:comment": {"pk": draft_report.pk},
        "reports:publish": {"pk": draft_report.pk},
        "reports:correct": {"pk": published.pk},
        "procurement:contract": {"contract_id": "AV1"},
        "procurement:statement_create": {"contract_id": "AV1"},
        "procurement:statement": {"pk": statement.pk},
        "procurement:statement_approve": {"pk": statement.pk},
        "procurement:statement_correct": {"pk": statement.pk},
        "procurement:statement_download": {"pk": statement.pk},
        "_page_bodies": {
            "procurement:statement_create": {"date_from": "2025-01-01", "date_to": "2025-06-30"},
            "procurement:provider_report": {
                "indicator": "step_down",
                "period_from": "2025-01-01",
                "period_to": "2025-12-31",
                "events": "3",
                "n": "4",
            },
        },
        "followups:detail": {"pk": followup.pk},
        "followups:correct": {"pk": followup.pk},
        "followups:create": {"pk": world.interventions["fresh"].pk},
        "registry:intervention": {"pk": overdue.pk},
        "registry:intervention_change": {"pk": overdue.pk},
        "results:provider": {"provider_id": world.provider.provider_id},
        "instruments:create_version": {"code": code},
        "instruments:version": {"code": code, "number": number},
        "instruments:edit": drafted,
        "instruments:edit_text": drafted,
        "instruments:new_question": drafted,
        "instruments:question": {**drafted, "question": q.code},
        "instruments:question_action": {**drafted, "question": q.code, "action": "ned"},
        "instruments:delete_draft": drafted,
        "followups:instrument_preview": drafted,
        "instruments:publish": drafted,
        "instruments:guidance": {"code": code},
        "_api": {
            "{intervention_id}": overdue.intervention_id,
            "{followup_id}": followup.followup_id,
            "{provider_id}": world.provider.provider_id,
            "{contract_id}": "AV1",
            "{statement_id}": str(statement.pk),
        },
        "_api_queries": {
            "GET /api/v1/comparisons": "?indicator=satisfied&from=2026-01-01&to=2026-06-30",
            "GET /api/v1/deviations": "?period=2025",
        },
        "_api_bodies": {
            "POST /api/v1/followups": {
                "intervention_id": world.interventions["fresh"].intervention_id,
                "respondent": "client",
                "status": "declined",
            },
            "POST /api/v1/interventions": {
                "person_id": "pseudo:" + "ab" * 32,
                "sex": "female",
                "birth_year": 2001,
                "service": "hvb_youth",
                "provider_id": "P1",
                "unit": "norr",
                "decided_on": "2026-01-01",
                "started_on": "2026-01-02",
            },
            "POST /api/v1/followups/{followup_id}/corrections": {
                "intervention_id": overdue.intervention_id,
                "respondent": "client",
                "status": "unreachable",
                "reason": "fel status",
                "base_version": 1,
            },
        },
    }


def oversight_sample(world: World) -> dict[str, Any]:
    """A case with an action and a document, and the bodies that write to it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from utfall.oversight import actions

    case = actions.open_case(request=None, user=world.analyst, provider=world.provider, owner=world.analyst,
                             title="Matris")  # fmt: skip
    action = actions.decide_action(request=None, user=world.analyst, case=case, kind="action_plan",
                                   decided_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 2, 1))  # fmt: skip
    document = actions.attach_to_case(request=None, user=world.analyst, case=case,
                                      upload=SimpleUploadedFile("plan.txt", b"Plan"))  # fmt: skip
    followup = FollowUp.objects.filter(intervention=world.interventions["overdue"]).first()
    assert followup is not None
    pk = {"pk": case.pk}
    return {
        "oversight:case": pk,
        "oversight:case_move": pk,
        "oversight:case_note": pk,
        "oversight:case_owner": pk,
        "oversight:case_document": pk,
        "oversight:case_action": pk,
        "oversight:action_done": {"pk": action.pk},
        "oversight:document": {"pk": document.pk},
        "oversight:record_create": {"provider_id": world.provider.provider_id},
        "oversight:alert_review": {"pk": followup.pk},
        "_bodies": {
            "oversight:case_move": lambda: {"state": "investigating"},
            "oversight:case_note": lambda: {"text": "Anteckning"},
            "oversight:case_owner": lambda: {"owner": world.analyst.pk},
            "oversight:case_document": lambda: {"file": SimpleUploadedFile("bilaga.txt", b"Bilaga")},
            "oversight:case_action": lambda: {"kind": "dialogue", "decided_on": "2026-01-02"},
            "oversight:action_done": lambda: {"done_on": "2026-01-03"},
        },
    }


def personas(world: World) -> dict[str, Any]:
    users: dict[str, Any] = {
        "anonym": None,
        "socialsekreterare": world.caseworker,
        "enhetschef": world.manager,
        "utredare": world.analyst,
        "upphandlare": world.procurement,
        "utforare": make_user("utforare", world.municipality, [], Role.PROVIDER),
        "namnd": make_user("namnd", world.municipality, [], Role.BOARD),
        "granskare": make_user("granskare", world.municipality, [], Role.AUDITOR),
        "systemadministrator": make_user("sysadmin", None, [], Role.SYSTEM_ADMIN),
        "annan_kommun": world.foreign,
    }
    Committee.objects.create(municipality=world.municipality, code="socialnamnden",
                             name="Socialnämnden").members.add(users["namnd"])  # fmt: skip
    users["utforare"].provider = world.provider
    users["utforare"].save()
    users["systemadministrator"].is_staff = True
    users["systemadministrator"].save()
    assert Group.objects.filter(name=Role.SYSTEM_ADMIN).exists()
    return users


def outcome(response: Any) -> str:
    status = response.status_code
    location = response.get("Location", "")
    if status == 401 or (status == 302 and ("/logga-in/" in location or "/admin/login/" in location)):
        return "login"
    if 200 <= status < 400:
        return "ja"
    return str(status)


def walk(client: Client, world: World) -> dict[str, str]:
    args = sample(world)
    seen: dict[str, str] = {}
    names = [n for n in page_names() if n not in LAST]
    for name in [*names, *api_operations(), *LAST]:
        if " " in name:
            method, path = name.split(" ", 1)
            for placeholder, value in args["_api"].items():
                path = path.replace(placeholder, value)
            body = args["_api_bodies"].get(name)
            if method == "GET":
                response = client.get(path + args["_api_queries"].get(name, ""))
            else:
                response = client.post(path, json.dumps(body or {}), content_type="application/json",
                                       headers={"Idempotency-Key": f"matrix-{name}"})  # fmt: skip
        else:
            url = reverse(name, kwargs=args.get(name))
            later = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
            data = {"published_on": later} if name == "instruments:publish" else POST_DATA.get(name, {})
            data = args["_page_bodies"].get(name, data)
            if name in args["_bodies"]:
                data = args["_bodies"][name]()
            response = client.post(url, data) if name in POSTS else client.get(url)
        seen[name] = outcome(response)
    return seen


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_endpoint_answers_each_persona_as_the_matrix_says(
    world: World, persona: str, settings: Any, tmp_path: Path
) -> None:
    settings.UTFALL_DOCUMENT_DIR = tmp_path / "documents"
    matrix = read_matrix()
    user = personas(world)[persona]
    client = Client()
    if user is not None:
        client.force_login(user)
    seen = walk(client, world)
    wrong = {name: (matrix.get(name, {}).get(persona), got) for name, got in seen.items()
             if matrix.get(name, {}).get(persona) != got}  # fmt: skip
    assert not wrong, (
        f"{persona}: (matrix, answered) differ: {json.dumps(wrong, indent=1, ensure_ascii=False)}"
    )


def test_the_matrix_uses_only_known_outcomes() -> None:
    for name, row in read_matrix().items():
        for persona, cell in row.items():
            assert re.fullmatch(r"ja|login|403|404|422", cell), (name, persona, cell)
