"""The API journey: a case system records follow-ups and interventions for its own units."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.personas import World, identity_number
from utfall.core.models import AuditEntry, ChangeRecord
from utfall.core.services import create_api_token
from utfall.followups.models import FollowUp
from utfall.registry.models import Intervention

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"

FOLLOWUP = {
    "intervention_id": "I-OVERDUE",
    "respondent": "client",
    "status": "completed",
    "answers": {"q1": "yes_completely", "q2": "yes_mostly", "q3": "no", "q4": "unchanged"},
    "assessment": "approved",
    "g1": "yes",
}


class Api:
    def __init__(self, client: Client, token: str | None) -> None:
        self.client, self.headers = client, ({"Authorization": f"Bearer {token}"} if token else {})

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers)

    def post(self, path: str, body: Any, key: str | None = "k-1", raw: str | None = None) -> Any:
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        data = raw if raw is not None else json.dumps(body)
        return self.client.post(f"/api/v1{path}", data, content_type="application/json", headers=headers)


@pytest.fixture
def api(client: Client, world: World) -> Api:
    return Api(client, create_api_token(user=world.caseworker, name="test"))


def as_user(client: Client, world: World, persona: str) -> Api:
    return Api(client, create_api_token(user=getattr(world, persona), name=persona))


def test_it_records_a_followup_once_per_idempotency_key(api: Api, world: World) -> None:
    first = api.post("/followups", FOLLOWUP, key="abc-123")
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["status"] == "completed" and body["answers"]["q3"] == "no" and body["version"] == 1
    assert body["instrument"] == "stockholm-2021@1"
    assert first["Location"].endswith(f"/api/v1/followups/{body['followup_id']}")
    again = api.post("/followups", FOLLOWUP, key="abc-123")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == body
    assert FollowUp.objects.count() == 1
    other = api.post("/followups", {**FOLLOWUP, "assessment": "very_good"}, key="abc-123")
    assert other.status_code == 422 and other["Content-Type"] == PROBLEM
    assert "redan använts" in other.json()["detail"]
    # Another key on the same day is a second follow-up only when the caller says so (issue 16).
    assert api.post("/followups", FOLLOWUP, key="abc-124").status_code == 409
    assert api.post("/followups", {**FOLLOWUP, "confirm_same_day": True}, key="abc-125").status_code == 201
    assert FollowUp.objects.count() == 2


def test_it_reads_followups_with_their_history(api: Api, world: World) -> None:
    created = api.post("/followups", FOLLOWUP).json()
    fid = created["followup_id"]
    correction = {
        **FOLLOWUP,
        "answers": {**FOLLOWUP["answers"], "q3": "yes_mostly"},
        "reason": "Felklick",
        "base_version": 1,
    }
    corrected = api.post(f"/followups/{fid}/corrections", correction, key=None)
    assert corrected.status_code == 201 and corrected.json()["version"] == 2
    stale = api.post(f"/followups/{fid}/corrections", {**correction, "assessment": "deficient"}, key=None)
    assert stale.status_code == 409 and stale["Content-Type"] == PROBLEM
    detail = api.get(f"/followups/{fid}").json()
    assert detail["answers"]["q3"] == "yes_mostly"
    assert [(h["version"], h["changed_by"], h["reason"]) for h in detail["history"]] == [
        (1, "cw", "Felklick")
    ]
    assert detail["history"][0]["data"]["answers"]["q3"] == "no"
    listed = api.get("/followups?intervention_id=I-OVERDUE").json()
    assert [f["followup_id"] for f in listed] == [fid]
    assert ChangeRecord.objects.count() == 1
    assert AuditEntry.objects.filter(kind="followups", action="view", record_ids=[fid]).exists()


@pytest.mark.parametrize(
    ("change", "pointer", "text"),
    [
        ({"assessment": ""}, "/assessment", "samlad bedömning krävs"),
        ({"answers": {"q4": "unchanged", "q5": "very_large"}}, "/answers/q5", "ställs bara när q4"),
        ({"status": "declined"}, "/answers/q1", "svar får bara finnas"),
        ({"answers": {"q1": "maybe"}}, "/answers/q1", "okänt svar 'maybe'"),
        ({"answers": {"q99": "no"}}, "/answers/q99", "okänd frågekod"),
        ({"respondent": "neighbour"}, "/respondent", "okänt värde 'neighbour'"),
        ({"date": "2999-01-01"}, "/date", "ligger i framtiden"),
        ({"instrument": "nope@9"}, "/instrument", "okänt eller opublicerat instrument"),
        ({"goals_total": 2}, "/goals_total", "först när insatsen har avslutats"),
        ({"minutes": -1}, "/body/payload/minutes", ""),
        ({"date": "yesterday"}, "/body/payload/date", ""),
    ],
)
def test_it_answers_bad_followups_with_a_problem_naming_the_field(
    api: Api, change: dict[str, Any], pointer: str, text: str
) -> None:
    response = api.post("/followups", {**FOLLOWUP, **change})
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422 and problem["title"]
    assert any(
        e["pointer"].endswith(pointer.split("/")[-1]) and text in e["detail"] for e in problem["errors"]
    ), problem
    assert not FollowUp.objects.exists()


@pytest.mark.parametrize(
    ("raw", "status"),
    [("{not json", 400), ("[]", 422), ('{"intervention_id": 5}', 422), ("", 400)],
)
def test_it_never_answers_malformed_bodies_with_500(api: Api, raw: str, status: int) -> None:
    response = api.post("/followups", None, raw=raw)
    assert 400 <= response.status_code < 500 and response["Content-Type"] == PROBLEM, response.content


def test_it_requires_an_idempotency_key_to_create(api: Api) -> None:
    response = api.post("/followups", FOLLOWUP, key=None)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["title"]
    assert not FollowUp.objects.exists()


def test_it_registers_an_intervention_idempotently_with_a_pseudonym(api: Api, world: World) -> None:
    body = {
        "intervention_id": "ÄR-77", "person_id": identity_number(77), "service": "ihf", "provider_id": "P1",
        "unit": "norr", "decided_on": "2026-02-01", "started_on": "2026-02-02",
    }  # fmt: skip
    first = api.post("/interventions", body, key="int-1")
    assert first.status_code == 201, first.content
    assert (
        first.json()["person_id"].startswith("pseudo:") and identity_number(77) not in first.content.decode()
    )
    again = api.post("/interventions", body, key="int-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Intervention.objects.filter(intervention_id="ÄR-77").count() == 1
    assert api.get("/interventions/ÄR-77").json()["service"] == "ihf"
    wrong = identity_number(78)[:-1] + str((int(identity_number(78)[-1]) + 1) % 10)
    bad = api.post("/interventions", {**body, "intervention_id": "", "person_id": wrong}, key="int-2")
    assert bad.status_code == 422 and wrong[:8] not in bad.content.decode()
    assert bad.json()["errors"][0]["pointer"] == "/person_id"


def test_it_lists_due_interventions_and_the_units_own(api: Api) -> None:
    due = api.get("/interventions/due").json()
    assert [d["intervention_id"] for d in due] == ["I-OVERDUE", "I-ENDED"]
    listed = [i["intervention_id"] for i in api.get("/interventions").json()]
    assert sorted(listed) == ["I-ENDED", "I-FRESH", "I-OVERDUE"]
    assert [i["intervention_id"] for i in api.get("/interventions?ongoing=false").json()] == ["I-ENDED"]


@pytest.mark.parametrize("persona", ["other_unit", "foreign"])
def test_other_units_get_404_alike(client: Client, api: Api, world: World, persona: str) -> None:
    fid = api.post("/followups", FOLLOWUP).json()["followup_id"]
    other = as_user(client, world, persona)
    for path in (f"/followups/{fid}", "/interventions/I-OVERDUE", "/followups/NOPE", "/interventions/NOPE"):
        response = other.get(path)
        assert response.status_code == 404 and response["Content-Type"] == PROBLEM
    assert other.post("/followups", FOLLOWUP).status_code == 404
    assert other.get("/followups").json() == []
    assert FollowUp.objects.count() == 1


@pytest.mark.parametrize("persona", ["analyst", "procurement", "outsider"])
def test_roles_without_case_access_get_403(client: Client, world: World, persona: str) -> None:
    api = Api(client, None) if persona == "outsider" else as_user(client, world, persona)
    if persona == "outsider":
        client.force_login(world.outsider)
    for response in (api.get("/followups"), api.get("/interventions"), api.post("/followups", FOLLOWUP)):
        assert response.status_code == 403 and response["Content-Type"] == PROBLEM
    assert not FollowUp.objects.exists()


def test_it_refuses_unknown_and_revoked_tokens(client: Client, world: World) -> None:
    from utfall.core.services import revoke_api_tokens

    assert Api(client, "utf_wrong").get("/followups").status_code == 401
    token = create_api_token(user=world.caseworker, name="x")
    assert Api(client, token).get("/followups").status_code == 200
    revoke_api_tokens(user=world.caseworker)
    response = Api(client, token).get("/followups")
    assert response.status_code == 401 and response["Content-Type"] == PROBLEM
    assert Api(client, None).get("/followups").status_code == 401


def test_a_token_records_when_it_was_last_used_to_the_minute(client: Client, world: World) -> None:
    """The admin shows when a token was last used; keeping that to the minute spares every API
    call a write of its own (issue 13 point 3: one transaction less per submission)."""
    import datetime as dt

    from django.utils import timezone

    from utfall.core.models import ApiToken

    api = Api(client, create_api_token(user=world.caseworker, name="minute"))
    stored = ApiToken.objects.get(name="minute")
    assert stored.last_used_at is None
    assert api.get("/followups").status_code == 200
    stored.refresh_from_db()
    first = stored.last_used_at
    assert first is not None and timezone.now() - first < dt.timedelta(seconds=30)

    assert api.get("/followups").status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at == first  # within the minute: not written again

    ApiToken.objects.filter(pk=stored.pk).update(last_used_at=first - dt.timedelta(minutes=2))
    assert api.get("/followups").status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at is not None and stored.last_used_at > first


def test_the_session_works_with_csrf(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.caseworker)
    assert client.get("/api/v1/followups").status_code == 200
    response = client.post(
        "/api/v1/followups",
        json.dumps(FOLLOWUP),
        content_type="application/json",
        headers={"Idempotency-Key": "s"},
    )
    assert response.status_code == 403 and not FollowUp.objects.exists()


def test_wrong_methods_get_405(api: Api) -> None:
    response = api.client.put("/api/v1/followups", headers=api.headers)
    assert response.status_code == 405


def test_the_openapi_schema_is_served(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "utfall API"
    assert {
        "/api/v1/followups",
        "/api/v1/interventions",
        "/api/v1/followups/{followup_id}/corrections",
    } <= set(schema["paths"])
    assert client.get("/api/v1/docs").status_code == 404  # the Swagger UI would load from a CDN


def test_a_correction_needs_no_intervention_id_and_minutes_is_a_number(api: Api, world: World) -> None:
    created = api.post("/followups", {**FOLLOWUP, "minutes": 12}).json()
    assert created["minutes"] == 12
    correction = {key: value for key, value in FOLLOWUP.items() if key != "intervention_id"}
    response = api.post(
        f"/followups/{created['followup_id']}/corrections",
        {**correction, "assessment": "very_good", "reason": "fel bedömning", "base_version": 1},
    )
    assert response.status_code == 201, response.content
    assert response.json()["assessment"] == "very_good" and response.json()["version"] == 2


def test_the_schema_marks_the_idempotency_key_required(api: Api) -> None:
    """Issue 17 point 18: a client generated from the schema sends the key on every create."""
    schema = api.get("/openapi.json").json()
    for path in ("/api/v1/followups", "/api/v1/interventions"):
        [key] = [p for p in schema["paths"][path]["post"]["parameters"] if p["name"] == "Idempotency-Key"]
        assert key["in"] == "header" and key["required"] is True, key


def test_every_error_of_a_request_comes_back_at_once(api: Api) -> None:
    """Issue 17 point 18: a missing key and two bad answers, in one problem listing all three."""
    body = {**FOLLOWUP, "answers": {**FOLLOWUP["answers"], "q1": "maybe"}, "respondent": "neighbour"}
    response = api.post("/followups", body, key=None)
    assert response.status_code == 422 and response["Content-Type"] == PROBLEM, response.content
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert {"/answers/q1", "/respondent", "/header/Idempotency-Key"} <= pointers, pointers
    assert not FollowUp.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"minutes": -1}, "minutes", "måste vara minst 0"),
        ({"minutes": "many"}, "minutes", "måste vara ett heltal"),
        ({"date": "yesterday"}, "date", "måste vara ett datum på formen ÅÅÅÅ-MM-DD"),
        ({"intervention_id": None}, "intervention_id", "måste vara en text"),
    ],
)
def test_the_schemas_own_errors_are_in_swedish(
    api: Api, change: dict[str, Any], field: str, text: str
) -> None:
    response = api.post("/followups", {**FOLLOWUP, **change})
    assert response.status_code == 422, response.content
    errors = {e["pointer"].rsplit("/", 1)[-1]: e["detail"] for e in response.json()["errors"]}
    assert errors.get(field) == text, errors


def test_a_schema_error_and_a_rule_error_come_back_in_one_answer(api: Api) -> None:
    """Issue 17 point 18: ``minutes`` breaks the schema, the answer and the respondent break the
    rules, and the key is missing: one problem lists all four, and nothing is saved."""
    body = {
        **FOLLOWUP,
        "minutes": -1,
        "answers": {**FOLLOWUP["answers"], "q1": "maybe"},
        "respondent": "neighbour",
    }
    response = api.post("/followups", body, key=None)
    assert response.status_code == 422 and response["Content-Type"] == PROBLEM, response.content
    pointers = [e["pointer"] for e in response.json()["errors"]]
    tails = {p.rsplit("/", 1)[-1] for p in pointers}
    assert {"minutes", "q1", "respondent", "Idempotency-Key"} <= tails, pointers
    assert len(pointers) == len(set(pointers))
    assert not FollowUp.objects.exists()
