from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.followups.helpers import DECLINED, form_data, post_followup
from tests.personas import World, make_intervention
from utfall.core.models import AuditEntry
from utfall.followups.models import FollowUp
from utfall.followups.queries import add_months, due_items

pytestmark = pytest.mark.django_db


def ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [w.intervention.intervention_id for w in response.context["page"].object_list]


def test_it_lists_the_units_due_and_overdue_interventions_only(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    response = client.get("/uppfoljningar/")
    assert response.status_code == 200
    # Not I-FRESH (due in months), not another unit's, not another municipality's.
    assert ids(response) == ["I-OVERDUE", "I-ENDED"]
    html = response.content.decode()
    assert "försenad" in html and "avslut" in html and "I-SODER" not in html


def test_it_drops_an_intervention_once_it_is_followed_up(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"], form_data(DECLINED))
    assert ids(client.get("/uppfoljningar/")) == ["I-ENDED"]


def test_the_due_date_follows_the_services_interval(world: World) -> None:
    today = timezone.localdate()
    items = {w.intervention.intervention_id: w for w in due_items(world.caseworker, today=today)}
    overdue = world.interventions["overdue"]
    assert items["I-OVERDUE"].due_on == add_months(overdue.started_on, 6) and items["I-OVERDUE"].overdue
    assert items["I-ENDED"].at_end and items["I-ENDED"].due_on == world.interventions[
        "ended"
    ].ended_on + dt.timedelta(days=30)
    assert add_months(dt.date(2025, 8, 31), 6) == dt.date(2026, 2, 28)


def test_it_filters_and_sorts(client: Client, world: World) -> None:
    make_intervention(world, "I-FOSTER", world.norr, started_days_ago=400, service="foster_home", n=9)
    client.force_login(world.caseworker)
    assert ids(client.get("/uppfoljningar/?service=foster_home")) == ["I-FOSTER"]
    assert ids(client.get("/uppfoljningar/?due=overdue&sort=-due")) == ["I-ENDED", "I-OVERDUE", "I-FOSTER"]
    assert ids(client.get("/uppfoljningar/?provider=P1&sort=service"))[0] == "I-FOSTER"
    assert ids(client.get("/uppfoljningar/?provider=nobody")) == []
    assert client.get("/uppfoljningar/?sort=bogus&sida=x").status_code == 200


def test_it_answers_htmx_with_the_results_only(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    html = client.get("/uppfoljningar/?due=overdue", headers={"HX-Request": "true"}).content.decode()
    assert html.lstrip().startswith('<section id="worklist-results"') and "<html" not in html
    full = client.get("/uppfoljningar/?due=overdue").content.decode()
    assert 'href="?due=overdue&amp;sort=service" hx-get="?due=overdue&amp;sort=service"' in full


def test_the_unit_manager_sees_coverage_this_period(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"])
    assert "coverage" not in client.get("/uppfoljningar/").context
    client.force_login(world.manager)
    coverage = client.get("/uppfoljningar/").context["coverage"]
    assert coverage["total"].followed_up == 1
    assert coverage["total"].ongoing >= 2  # I-OVERDUE, I-FRESH (and I-ENDED if it ended this period)


@pytest.mark.parametrize("persona", ["analyst", "procurement", "outsider"])
def test_roles_without_case_access_get_no_worklist(client: Client, world: World, persona: str) -> None:
    client.force_login(getattr(world, persona))
    assert client.get("/uppfoljningar/").status_code == 403
    assert client.get("/uppfoljningar/historik/").status_code == 403
    # Nothing was read; the two refusals are in the audit log, without record ids.
    assert list(AuditEntry.objects.values_list("action", "record_ids")) == [("refused", [])] * 2


def test_it_audits_the_rows_shown(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    client.get("/uppfoljningar/")
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.kind, entry.record_ids, entry.user) == (
        "list", "interventions", ["I-OVERDUE", "I-ENDED"], world.caseworker,
    )  # fmt: skip
    assert entry.municipality == world.municipality and entry.where == "/uppfoljningar/"


@pytest.mark.parametrize(("persona", "pinned"), [("caseworker", 6), ("manager", 7)])
def test_the_worklist_query_count_does_not_grow_with_rows(
    client: Client, world: World, persona: str, pinned: int
) -> None:
    """Session, user, roles, units, the list, the audit insert, (the manager's coverage).

    The base template's menu (shared with other pages) may add up to two queries of its own;
    the count must not grow with the number of rows.
    """
    client.force_login(getattr(world, persona))
    client.get("/uppfoljningar/")

    def count(path: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    first = count("/uppfoljningar/")
    assert pinned <= first <= pinned + 2, first
    for n in range(20):
        make_intervention(world, f"I-MORE{n}", world.norr, started_days_ago=300 + n, n=20 + n)
    assert count("/uppfoljningar/") == first
    assert len(client.get("/uppfoljningar/").context["page"].object_list) == 22


def test_the_history_lists_the_units_followups(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"])
    post_followup(client, world.interventions["ended"], form_data(DECLINED))
    client.force_login(world.colleague)
    html = client.get("/uppfoljningar/historik/").content.decode()
    assert html.count("/uppfoljningar/") >= 2 and "Klienten avböjde" in html
    client.force_login(world.other_unit)
    html = client.get("/uppfoljningar/historik/").content.decode()
    assert "I-ENDED" not in html and "Inga uppföljningar ännu." in html
    assert FollowUp.objects.count() == 2


def test_the_history_is_searched_by_id_and_filtered(client: Client, world: World) -> None:

    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"])
    post_followup(client, world.interventions["ended"], form_data(DECLINED))
    page = client.get("/uppfoljningar/historik/").content.decode()
    assert "I-OVERDUE" in page and "I-ENDED" in page and "2 uppföljningar" in page
    page = client.get("/uppfoljningar/historik/?q=overdue").content.decode()
    assert "I-OVERDUE" in page and "I-ENDED" not in page
    page = client.get("/uppfoljningar/historik/?status=declined").content.decode()
    assert "I-ENDED" in page and "I-OVERDUE" not in page
    page = client.get(
        "/uppfoljningar/historik/?provider=P1&service=hvb_youth&from=2000-01-01"
    ).content.decode()
    assert "2 uppföljningar" in page
    page = client.get("/uppfoljningar/historik/?to=2000-01-01").content.decode()
    assert "Inga uppföljningar med de här valen." in page
    page = client.get("/uppfoljningar/historik/?from=igår").content.decode()
    assert "Från: ange datum som ÅÅÅÅ-MM-DD." in page
