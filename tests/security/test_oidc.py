"""Single sign-on through OpenID Connect, against an identity provider the test starts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.test import Client

from tests.security.identity_provider import IdentityProvider

pytestmark = pytest.mark.django_db


@pytest.fixture
def idp(settings) -> Iterator[IdentityProvider]:  # type: ignore[no-untyped-def]
    provider = IdentityProvider().start()
    for name, value in provider.settings().items():
        setattr(settings, name, value)
    yield provider
    provider.stop()


def sign_in_through(idp: IdentityProvider, client: Client, **claims: Any) -> Any:
    idp.claims = claims
    start = client.get("/oidc/authenticate/?next=/uppfoljningar/")
    assert start.status_code == 302 and start["Location"].startswith(idp.url + "/authorize?")
    back = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302
    path = back.headers["Location"].split("://", 1)[1].split("/", 1)[1]
    return client.get("/" + path)


def test_a_caseworker_signs_in_with_the_municipalitys_identity_provider(idp, world) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    response = sign_in_through(idp, client, preferred_username="cw", amr=["pwd", "mfa"])
    assert response.status_code == 302 and response["Location"] == "/uppfoljningar/"
    assert client.get("/uppfoljningar/").status_code == 200


def test_an_unknown_person_gets_no_account(idp, world) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    response = sign_in_through(idp, client, preferred_username="stranger")
    assert "_auth_user_id" not in client.session
    assert response["Location"].startswith("/logga-in/") or response["Location"] == "/"
    from utfall.organisations.models import User

    assert not User.objects.filter(username="stranger").exists()


def test_a_token_for_another_client_is_refused(idp, world) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    sign_in_through(idp, client, preferred_username="cw", _aud="another-application")
    assert "_auth_user_id" not in client.session


def test_the_identity_providers_mfa_counts_only_when_trusted(idp, world, settings) -> None:  # type: ignore[no-untyped-def]
    settings.UTFALL_TWO_FACTOR = True
    settings.UTFALL_OIDC_TRUST_MFA = True
    trusted = Client()
    sign_in_through(idp, trusted, preferred_username="cw", amr=["pwd", "mfa"])
    assert trusted.get("/uppfoljningar/").status_code == 200

    password_only = Client()
    sign_in_through(idp, password_only, preferred_username="cw", amr=["pwd"])
    assert password_only.get("/uppfoljningar/")["Location"].startswith("/tvastegs/")


def test_single_sign_on_is_off_unless_configured(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/oidc/authenticate/").status_code == 404
