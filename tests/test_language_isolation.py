"""Each test starts in the site's language (Swedish), whatever the test before it did.

A request in English leaves English active in the thread: Django's LocaleMiddleware activates
the request's language and never deactivates it. Code that translates outside a request (the
unit manager's coverage box called directly, a service's column headings) then saw English in
whichever test came next, so two results tests failed only in some orders of the files
(``KeyError: 'Saknar uppföljning'``, found 2026-12-04). ``tests/conftest.py`` resets the language
around every test; these two tests, in this order, fail without it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

pytestmark = pytest.mark.django_db


def test_a_request_in_english_leaves_english_active_in_the_thread(client: Client) -> None:
    response = client.get("/logga-in/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert translation.get_language() == "en"


def test_the_next_test_starts_in_swedish() -> None:
    assert translation.get_language() == "sv"
    assert translation.gettext("Saknar uppföljning") == "Saknar uppföljning"
