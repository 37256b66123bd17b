"""What one submission costs (issue 13 point 3): its queries are pinned, so that a change that
adds a query to every follow-up recorded is seen here and not first under load
(docs/performance.md, "Load and faults"). Also what the cheap path must not lose: the answer is
what is stored, the counts stay equal to a rebuild, and the catalogue kept per process follows
a change made by another process."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.api.test_api import FOLLOWUP, Api
from tests.personas import World
from utfall.aggregates import counts
from utfall.core.services import create_api_token
from utfall.instruments.models import InstrumentVersion

pytestmark = pytest.mark.django_db
#: Queries of a new follow-up through the API once the process is warm (token, roles and
#: units; the intervention; the catalogue's fingerprint and services; the default instrument;
#: the locked intervention, the key, the same-day check, the follow-up and its answers; their
#: share grouped and added to eight count tables, one UPDATE … RETURNING each; the coverage
#: flip; the data token; the key; the audit entry). Was 46 before 2026-12-02; 26 with four count
#: tables (a look-up and an update each) before 2026-12-03. 2026-12-03: +1 the coverage flip's
#: grouped SELECT (aggregates.coverage; here the intervention is followed up that day already, so
#: nothing changes; a first follow-up in a period adds one look-up, an UPDATE and at most one
#: INSERT), and on PostgreSQL +1 the share lock on the coverage periods (a new year's periods are
#: filled while no writer runs). 2026-12-03 (trend): the rollups by client keep only clients
#: followed up twice in a year: +1 the client's follow-ups read to decide, and here (the
#: intervention is followed up that day already) +2 the earlier one's answers and row read to
#: move them in and +2 their new keys inserted; on PostgreSQL +1 the client's row lock. A first
#: follow-up in its year costs the read alone. 2026-12-03 (stats3): +2 the rollups by provider
#: and calendar year (answers and follow-ups), one UPDATE … RETURNING each. 2026-12-04 (oe2): +2
#: the rollups by provider, case mix and calendar year (the O/E's cells), the same. 2026-12-05 (oe4):
#: +1 the answers' options' flags read (``counts.option_flags``) for the questions' cells without
#: the option, whose n and events are one UPDATE … RETURNING as the table by option they replace
#: was. 2026-12-05 (unit5): +2 the rollups by provider, unit and calendar year (the unit manager's
#: counts), the same. 2026-12-06 (mgroe): +1 the questions' cells by provider, unit, case mix and
#: year (the unit manager's O/E), one UPDATE … RETURNING; (hidfold): +1 the questions' n and events
#: by provider, unit and year without the option, one UPDATE … RETURNING; the options' flags are
#: read once for every table without the option; −1 the answers' rollup by provider, unit, year and
#: option, read by nothing after that (dropped by aggregates 0021). 2026-12-07 (unitmonth): +2 a
#: question's n and events by unit and month and its cells by unit, case mix and year, every
#: provider summed (the unit manager's trend and women and men, aggregates 0023 and 0024), one
#: UPDATE … RETURNING each; +1 the follow-ups by unit and month (0025), the same. Lower it when a
#: query goes; never raise it without a reason in docs/performance.md.
API_SUBMISSION_QUERIES = 43 + 2 * (connection.vendor == "postgresql")


@pytest.fixture
def api(client: Client, world: World) -> Api:
    return Api(client, create_api_token(user=world.caseworker, name="cost"))


def submit(api: Api, key: str, **changes: Any) -> Any:
    response = api.post("/followups", {**FOLLOWUP, "confirm_same_day": True, **changes}, key=key)
    assert response.status_code == 201, response.content
    return response


def test_a_submission_takes_a_pinned_number_of_queries(api: Api) -> None:
    submit(api, "warm-up")  # the token's last use is written, the catalogue read
    with CaptureQueriesContext(connection) as queries:
        submit(api, "measured")
    listed = "\n".join(q["sql"][:160] for q in queries.captured_queries)
    assert len(queries) == API_SUBMISSION_QUERIES, listed


def test_the_answer_is_the_follow_up_as_stored(api: Api) -> None:
    created = submit(api, "answer", answers={"q4": "unchanged", "q1": "no", "q2": "yes_mostly"}, minutes=12)
    body = created.json()
    stored = api.get(f"/followups/{body['followup_id']}").json()
    stored.pop("history")
    assert body == stored
    assert body["minutes"] == 12 and list(body["answers"]) == ["q1", "q2", "q4"]


def test_the_counts_stay_equal_to_a_rebuild(api: Api, world: World) -> None:
    submit(api, "one")
    submit(api, "two", status="declined", answers={}, assessment="")
    submit(api, "ended", intervention_id="I-ENDED", goals_total=3, goals_fully=1, goals_partly=1)
    again = api.post("/followups", {**FOLLOWUP, "confirm_same_day": True}, key="one")
    assert again["Idempotent-Replayed"] == "true"
    assert counts.stored(world.municipality.pk) == counts.expected_tables(world.municipality.pk)


def test_the_kept_catalogue_follows_another_process(api: Api, world: World) -> None:
    submit(api, "before")  # the catalogue is kept in this process now
    version = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=1)
    service = world.interventions["overdue"].service_id
    with connection.cursor() as cursor:  # another process: no signal reaches this one
        table = InstrumentVersion.services.through._meta.db_table
        cursor.execute(
            f"DELETE FROM {table} WHERE instrumentversion_id = %s AND service_id = %s",  # noqa: S608
            [version.pk, service],
        )
    refused = api.post(
        "/followups", {**FOLLOWUP, "instrument": version.key, "confirm_same_day": True}, key="after"
    )
    assert refused.status_code == 422, refused.content
    assert "/instrument" in {e["pointer"] for e in refused.json()["errors"]}
