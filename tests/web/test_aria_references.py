"""Every ``aria-describedby`` and ``aria-labelledby`` on every page names an element that is
there, so a screen reader hears the hint and the error (issue 17 point 3).

Walks every page of the access matrix as each persona that sees it, and every form page
sent empty and with wrong values, and reads the HTML with the standard library's parser.
"""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.followups.helpers import post_followup
from tests.personas import World
from tests.security.test_access_matrix import LAST, POSTS, page_names, personas, sample

pytestmark = pytest.mark.django_db


class References(HTMLParser):
    """The ids of a page and the ids its aria attributes point to."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.pointers: list[tuple[str, str, str]] = []  # (tag, attribute, id)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            elif name in ("aria-describedby", "aria-labelledby") and value is not None:
                self.pointers += [(tag, name, ref) for ref in value.split()]


def dangling(html: str) -> list[tuple[str, str, str]]:
    parser = References()
    parser.feed(html)
    return [p for p in parser.pointers if p[2] not in parser.ids]


def test_the_check_finds_a_dangling_reference() -> None:
    html = '<input aria-describedby="id_x_helptext"><p id="id_x-help">hint</p>'
    assert dangling(html) == [("input", "aria-describedby", "id_x_helptext")]


def _pages(client: Client, world: World) -> dict[str, str]:
    args = sample(world)
    seen = {}
    for name in page_names():
        if name in POSTS or name in LAST:
            continue
        response = client.get(reverse(name, kwargs=args.get(name)))
        if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
            seen[name] = response.content.decode()
    return seen


@pytest.mark.parametrize("persona", ["socialsekreterare", "enhetschef", "utredare", "systemadministrator"])
def test_every_aria_reference_on_every_page_resolves(world: World, persona: str) -> None:
    user = personas(world)[persona]
    client = Client()
    client.force_login(user)
    pages = _pages(client, world)
    assert pages, "the walk saw no page"
    broken = {name: refs for name, html in pages.items() if (refs := dangling(html))}
    assert not broken, broken


def _wrong_submissions(world: World) -> list[tuple[str, dict[str, Any]]]:
    """Form pages sent empty and with values the rules refuse, so every error shows."""
    fresh = world.interventions["fresh"]
    ended = world.interventions["ended"]
    later = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    return [
        (reverse("followups:create", args=[fresh.pk]), {}),
        (
            reverse("followups:create", args=[ended.pk]),
            {
                "status": "completed",
                "respondent": "client",
                "date": later,
                "q1": "nonsense",
                "goals_total": "1",
                "goals_fully": "3",
                "goals_partly": "x",
            },
        ),
        (reverse("registry:intervention_create"), {}),
        (
            reverse("registry:intervention_create"),
            {
                "person_id": "19000101-0000",
                "service": "hvb_youth",
                "started_on": "2026-05-01",
                "ended_on": "2026-01-01",
                "decided_on": "bad",
                "goals_total": "-1",
            },
        ),
    ]


def test_every_aria_reference_resolves_on_forms_with_errors(world: World) -> None:
    client = Client()
    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"])
    for url, data in _wrong_submissions(world):
        response = client.post(url, data)
        assert response.status_code == 422, (url, response.status_code)
        html = response.content.decode()
        assert 'class="field-error"' in html
        assert not dangling(html), (url, dangling(html))
