"""A results page's table bodies are put in the page after its template (``views.render_page``,
``templatetags.results.Deferred``): the page is the same, byte for byte, as with each body
written in its place by the template, on every results page, with htmx and in English."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.results.conftest import PERIOD, People
from tests.results.test_pages import PAGES
from utfall.results import views
from utfall.results.templatetags.results import Deferred

pytestmark = pytest.mark.django_db

CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


class InPlace(Deferred):
    """Every body written where the template puts it, as before render_page."""

    def marker(self, body: str) -> str:
        return body


def _page(client: Client, url: str, **headers: str) -> bytes:
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return CSRF.sub(b"", response.content)


@pytest.mark.parametrize("name", [n for n in PAGES if n != "coverage_caseworker"])
@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}, {"Accept-Language": "en"}])
def test_a_page_is_the_same_as_with_its_table_bodies_in_place(
    client: Client, people: People, monkeypatch: pytest.MonkeyPatch, name: str, headers: dict[str, str]
) -> None:
    client.force_login(people.analyst)
    url = PAGES[name][0]
    spliced = _page(client, url, **headers)
    assert b"<!--table-body-" not in spliced
    assert spliced.count(b"<tbody>") >= 1 and b"<td" in spliced
    monkeypatch.setattr(views, "Deferred", InPlace)
    assert _page(client, url, **headers) == spliced


def test_a_marker_is_unguessable_and_each_of_its_places_gets_the_body(client: Client, people: People) -> None:
    """A marker holds a random token: another page's marker (or text that looks like one) is
    left as it is; a body shown twice (a partial used twice) is put in both places."""
    client.force_login(people.analyst)
    url = f"/resultat/jamforelse/?indicator=satisfied&{PERIOD}"
    deferred = Deferred()
    marker = deferred.marker("x")
    assert re.fullmatch(r"<!--table-body-[0-9a-f]{16}-0-->", marker)
    assert Deferred().splice(marker) == marker  # another page's marker is left alone
    assert deferred.splice(f"a{marker}b{marker}") == "axbx"
    assert b"<!--table-body-" not in client.get(url).content


def test_a_page_with_three_tables_has_each_body_once(client: Client, people: People) -> None:
    client.force_login(people.analyst)
    page = client.get(PAGES["gender"][0]).content.decode()
    bodies = re.findall(r"<tbody>(.*?)</tbody>", page, flags=re.S)
    assert len(bodies) == 3 and len(set(bodies)) == 3
