from __future__ import annotations

import pytest
from django.test import Client

from tests.personas import World

pytestmark = pytest.mark.django_db


def test_the_pages_are_swedish_with_english_as_a_second_language(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    html = client.get("/uppfoljningar/").content.decode()
    assert '<html lang="sv">' in html and "Att följa upp" in html
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/uppfoljningar/"})
    assert response.status_code == 302
    html = client.get("/uppfoljningar/").content.decode()
    assert (
        '<html lang="en">' in html and "To follow up" in html and "2 interventions have a follow-up" in html
    )
    assert "På svenska" in html
