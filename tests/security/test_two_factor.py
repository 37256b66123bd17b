"""Two-factor sign-in (TOTP) for every role that sees individual data."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from utfall.organisations.models import User

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-password-1"


@pytest.fixture(autouse=True)
def _required(settings) -> None:  # type: ignore[no-untyped-def]
    settings.UTFALL_TWO_FACTOR = True


def signed_in(user: User) -> Client:
    user.set_password(PASSWORD)
    user.save()
    client = Client()
    assert client.post("/logga-in/", {"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def test_a_caseworker_cannot_reach_a_case_without_the_second_factor(world) -> None:  # type: ignore[no-untyped-def]
    client = signed_in(world.caseworker)
    response = client.get("/uppfoljningar/")
    assert response.status_code == 302
    assert response["Location"].startswith("/tvastegs/aktivera/")
    assert client.get("/api/v1/followups").status_code == 401
    assert client.get(f"/insatser/{world.interventions['overdue'].pk}/").status_code == 302


def test_a_caseworker_enrols_an_authenticator_and_then_gets_in(world) -> None:  # type: ignore[no-untyped-def]
    client = signed_in(world.caseworker)
    page = client.get("/tvastegs/aktivera/?next=/uppfoljningar/")
    html = page.content.decode()
    assert page.status_code == 200 and 'src="data:image/svg+xml' in html
    secret = re.search(r"<code>([A-Z2-7 ]+)</code>", html)
    assert secret is not None
    device = TOTPDevice.objects.get(user=world.caseworker, confirmed=False)

    wrong = client.post(
        "/tvastegs/aktivera/", {"otp_token": "000000" if code(device) != "000000" else "111111"}
    )
    assert wrong.status_code == 422 and "Koden stämmer inte" in wrong.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0  # the wrong code above started the back-off
    device.throttling_failure_timestamp = None
    device.save()

    ok = client.post("/tvastegs/aktivera/", {"otp_token": code(device), "next": "/uppfoljningar/"})
    assert ok.status_code == 302 and ok["Location"] == "/uppfoljningar/"
    assert client.get("/uppfoljningar/").status_code == 200


def test_the_next_sign_in_asks_for_the_code_and_refuses_a_wrong_one(world) -> None:  # type: ignore[no-untyped-def]
    device = TOTPDevice.objects.create(user=world.manager, name="utfall", confirmed=True)
    client = signed_in(world.manager)
    response = client.get("/uppfoljningar/")
    assert response["Location"].startswith("/tvastegs/?next=")
    assert client.post("/tvastegs/", {"otp_token": "12345x"}).status_code == 422
    assert client.get("/uppfoljningar/").status_code == 302
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    assert client.post("/tvastegs/", {"otp_token": code(device)}).status_code == 302
    assert client.get("/uppfoljningar/").status_code == 200


def test_an_enrolled_user_cannot_enrol_another_device_to_skip_the_code(world) -> None:  # type: ignore[no-untyped-def]
    TOTPDevice.objects.create(user=world.caseworker, name="utfall", confirmed=True)
    client = signed_in(world.caseworker)
    response = client.get("/tvastegs/aktivera/")
    assert response["Location"].startswith("/tvastegs/")
    assert TOTPDevice.objects.filter(user=world.caseworker).count() == 1


def test_roles_with_aggregates_only_need_no_second_factor(world) -> None:  # type: ignore[no-untyped-def]
    client = signed_in(world.analyst)
    assert client.get("/resultat/").status_code == 200


def test_staff_need_the_second_factor_for_the_admin(municipality) -> None:  # type: ignore[no-untyped-def]
    admin = User.objects.create_superuser("root", password=PASSWORD, municipality=municipality)
    client = signed_in(admin)
    assert client.get("/admin/").status_code == 302
