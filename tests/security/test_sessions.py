"""Idle and absolute session timeouts; no response with data may be cached."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from utfall.core.middleware import LOGIN_AT, SEEN_AT

pytestmark = pytest.mark.django_db


def _age_session(client: Client, **seconds_ago: float) -> None:
    session = client.session
    now = time.time()
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


def test_an_idle_session_ends_after_30_minutes(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    assert client.get("/uppfoljningar/").status_code == 200
    _age_session(client, **{SEEN_AT: 29 * 60, LOGIN_AT: 3600})
    assert client.get("/uppfoljningar/").status_code == 200  # 29 minutes: still signed in
    _age_session(client, **{SEEN_AT: 31 * 60})
    response = client.get("/uppfoljningar/")
    assert response.status_code == 302 and response["Location"].startswith("/logga-in/")
    assert "_auth_user_id" not in client.session


def test_a_busy_session_still_ends_10_hours_after_sign_in(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    _age_session(client, **{LOGIN_AT: 10 * 3600 + 5, SEEN_AT: 5})
    response = client.get("/uppfoljningar/")
    assert response.status_code == 302


def test_the_api_on_an_expired_session_answers_401(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    _age_session(client, **{LOGIN_AT: 11 * 3600})
    assert client.get("/api/v1/followups").status_code == 401


def test_the_timeouts_are_settings(client: Client, world, settings) -> None:  # type: ignore[no-untyped-def]
    settings.UTFALL_SESSION_IDLE_MINUTES = 5
    client.force_login(world.caseworker)
    client.get("/")
    _age_session(client, **{SEEN_AT: 6 * 60})
    assert client.get("/uppfoljningar/").status_code == 302


@pytest.mark.parametrize(
    "path",
    [
        "/uppfoljningar/",
        "/uppfoljningar/historik/",
        "/api/v1/followups",
        "/api/v1/interventions",
        "/",
        "/logga-in/",
    ],
)
def test_no_response_may_be_stored_by_a_cache(client: Client, world, path: str) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    response = client.get(path)
    assert response.status_code == 200, path
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_a_download_is_not_stored_either(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.analyst)
    response = client.get("/resultat/uppfoljningsgrad/?format=csv")
    assert "no-store" in response["Cache-Control"]
