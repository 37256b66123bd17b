"""Issue 10.1: the reference population does not depend on who looks.

The access scope decides which rows are shown; the target, spread and limits always come from
the comparison's full population. Provider C (1 positive of 12, all in unit sodermalm) is
judged by the analyst, the manager of sodermalm and C's own account, on the page, the API and
``utfall compare``: the same target, limits and flag everywhere. Before the fix, C's account
was compared against its own data (target = its own rate, no flag).
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from tests.results.conftest import PERIOD, People, page_tables, persona
from utfall.organisations.models import Municipality, Role, Unit, User
from utfall.registry.models import Provider

pytestmark = pytest.mark.django_db

PAGE = f"/resultat/jamforelse/?indicator=satisfied&{PERIOD}"
API = "/api/v1/comparisons?indicator=satisfied&from=2025-01-01&to=2025-12-31&by=provider"
LIMITS = ("target", "lower_998", "upper_998", "lower_95", "upper_95", "flag", "n", "events", "rate")


def _viewers(results_set: Municipality, people: People, provider_id: str) -> dict[str, User]:
    manager = persona(results_set, "chef_soder", Role.UNIT_MANAGER)
    manager.units.add(Unit.objects.get(municipality=results_set, code="sodermalm"))
    account = persona(results_set, f"lev_{provider_id}", Role.PROVIDER,
                      provider=Provider.objects.get(municipality=results_set, provider_id=provider_id))  # fmt: skip
    return {"analyst": people.analyst, "manager": manager, "provider": account}


def _api_row(client: Client, group: str) -> dict[str, Any]:
    data = client.get(API).json()
    row = next(r for r in data["rows"] if r["group"] == group)
    return {"target": data["target"], **{k: row[k] for k in LIMITS if k != "target"}}


def _page_row(client: Client, group: str) -> dict[str, str]:
    rows = page_tables(client.get(PAGE).content.decode())["jamforelse"]
    return next(r for r in rows if r["group"] == group)


def _command_row(results_set: Municipality, group: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("compare", "--municipality", results_set.code, "--indicator", "satisfied", "--from",
                 "2025-01-01", "--to", "2025-12-31", "--format", "json", stdout=out)  # fmt: skip
    data = json.loads(out.getvalue())
    row = next(r for r in data["rows"] if r["group"] == group)
    return {"target": data["target"], **{k: row[k] for k in LIMITS if k != "target"}}


def test_the_same_provider_gets_the_same_target_limits_and_flag_whoever_looks(
    client: Client, results_set: Municipality, people: People
) -> None:
    viewers = _viewers(results_set, people, "C")
    cli = _command_row(results_set, "C")
    assert cli["flag"] == "low" and cli["target"] > 0.6  # C: 1 of 12, far below the others
    pages, apis = {}, {}
    for who, user in viewers.items():
        client.force_login(user)
        apis[who] = _api_row(client, "C")
        pages[who] = _page_row(client, "C")
    for who in viewers:
        assert apis[who] == cli, who
        assert pages[who] == pages["analyst"], who
    assert pages["provider"]["flag"] != ""


def test_the_provider_page_uses_the_municipality_as_reference_for_every_viewer(
    client: Client, results_set: Municipality, people: People
) -> None:
    seen = {}
    for who, user in _viewers(results_set, people, "C").items():
        client.force_login(user)
        rows = client.get(f"/api/v1/providers/C/results?indicator=satisfied&{PERIOD}").json()
        row = next(r for r in rows["tables"]["indikatorer"]["rows"] if r["indicator"] == "satisfied")
        seen[who] = {k: row[k] for k in ("n", "rate", "target", "lower_998", "upper_998", "flag")}
    assert seen["manager"] == seen["analyst"] == seen["provider"]
    assert seen["analyst"]["flag"] == "low"


def test_a_scoped_viewer_never_sees_a_row_hidden_in_the_full_comparison(
    client: Client, results_set: Municipality, people: People
) -> None:
    """G (n = 6) is hidden by secondary suppression in the full comparison (to protect D):
    neither its own account nor the manager of its unit may see its counts or flag."""
    account = persona(results_set, "lev_G", Role.PROVIDER,
                      provider=Provider.objects.get(municipality=results_set, provider_id="G"))  # fmt: skip
    for user in (account, people.manager):  # people.manager: unit bromma (E and G)
        client.force_login(user)
        data = client.get(API).json()
        hidden = [r for r in data["rows"] if r["group"] == "G"]
        assert len(hidden) == 1 and hidden[0]["suppressed"] is True
        assert hidden[0]["n"] is None and hidden[0]["flag"] is None
        assert "G" not in data["overdispersion"]["excluded"]


def test_the_adjusted_view_judges_every_viewer_against_the_same_case_mix_model(
    client: Client, results_set: Municipality, people: People
) -> None:
    seen = {}
    for who, user in _viewers(results_set, people, "C").items():
        client.force_login(user)
        data = client.get(API + "&adjust=true").json()
        row = next(r for r in data["rows"] if r["group"] == "C")
        seen[who] = {
            "target": data["target"],
            **{k: row[k] for k in ("expected", "ratio", "lower_998", "upper_998", "flag")},
        }
    assert seen["manager"] == seen["analyst"] == seen["provider"]
    assert seen["analyst"]["flag"] == "low"
