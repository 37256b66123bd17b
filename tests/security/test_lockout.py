"""Lock-out on the user name (from one address, and from everywhere), never on an address alone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from utfall.organisations.models import User

pytestmark = pytest.mark.django_db
RIGHT = "the-right-password"


@pytest.fixture
def kim(municipality) -> User:  # type: ignore[no-untyped-def]
    return User.objects.create_user("kim", password=RIGHT, municipality=municipality)


def sign_in(username: str, password: str, ip: str, **extra: str) -> int:
    client = Client(REMOTE_ADDR=ip, **extra)
    response = client.post("/logga-in/", {"username": username, "password": password})
    return response.status_code


def test_five_failures_lock_the_user_name_from_that_address_only(kim) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        sign_in("kim", "wrong", "10.0.0.1")
    assert sign_in("kim", RIGHT, "10.0.0.1") == 429
    assert sign_in("kim", RIGHT, "10.0.0.2") == 302  # the real Kim, at another desk


def test_an_address_alone_is_never_locked(kim, municipality) -> None:  # type: ignore[no-untyped-def]
    User.objects.create_user("sam", password=RIGHT, municipality=municipality)
    for n in range(30):  # a whole office behind one address mistyping their own names
        sign_in(f"someone{n}", "wrong", "10.0.0.9")
    assert sign_in("sam", RIGHT, "10.0.0.9") == 302


def test_many_addresses_against_one_user_name_lock_it_everywhere(kim) -> None:  # type: ignore[no-untyped-def]
    for n in range(20):
        sign_in("kim", "wrong", f"10.0.1.{n}")
    assert sign_in("kim", RIGHT, "10.0.2.1") == 429


def test_the_wait_grows_with_each_failure_past_the_limit(kim, settings) -> None:  # type: ignore[no-untyped-def]
    from axes.models import AccessAttempt

    from utfall.core.lockout import cool_off

    for _ in range(5):
        sign_in("kim", "wrong", "10.0.0.1")
    first = AccessAttempt.objects.get(username="kim").expiration.expires_at
    for _ in range(3):
        sign_in("kim", "wrong", "10.0.0.1")
    later = AccessAttempt.objects.get(username="kim").expiration.expires_at
    assert later - timezone.now() > dt.timedelta(minutes=100)  # 15 min × 2³ = 2 h
    assert later > first

    class Request:
        POST = {"username": "kim"}
        GET: dict[str, str] = {}
        META: dict[str, str] = {}
        axes_credentials = None

    assert cool_off(Request()) == dt.timedelta(minutes=15 * 2**3)  # type: ignore[arg-type]


def test_the_client_address_is_read_from_the_configured_proxy_header(kim, settings) -> None:  # type: ignore[no-untyped-def]
    settings.UTFALL_CLIENT_IP_HEADER = "X-Forwarded-For"
    settings.UTFALL_PROXY_COUNT = 1
    # Everyone arrives from the proxy's address; the proxy appends the client's.
    for _ in range(5):
        sign_in("kim", "wrong", "127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert sign_in("kim", RIGHT, "127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7") == 429
    assert sign_in("kim", RIGHT, "127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.4") == 302
    # What a client writes in front of the proxy's entry is not believed.
    assert sign_in("kim", RIGHT, "127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.4, 203.0.113.7") == 429
