"""The security pages in a real browser at 1280 and 375 px, each checked with axe-core
(WCAG 2.1 A/AA) and saved in var/screenshots/: signing in, enrolling an authenticator
(two-factor set-up), the one-time code (with a wrong code first), and the auditor's audit log
viewer with a search and an invalid search."""

from __future__ import annotations

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.e2e.conftest import Journey
from tests.e2e.test_journey import PASSWORD, submit
from tests.personas import World, make_user
from utfall.organisations.models import Role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def wrong(device: TOTPDevice) -> str:
    return "000000" if code(device) != "000000" else "111111"


def forgive(device: TOTPDevice) -> None:
    """The wrong code started django-otp's back-off; the test does not wait it out."""
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()


def password(j: Journey, username: str) -> None:
    j.goto("/logga-in/")
    j.check("logga-in")
    j.page.fill("#id_username", username)
    j.page.fill("#id_password", PASSWORD)
    with j.page.expect_navigation():
        j.page.keyboard.press("Enter")


@pytest.mark.parametrize("width", [1280, 375])
def test_sign_in_and_two_factor_set_up_pages(
    live_server, browser, world: World, settings, width: int
) -> None:  # type: ignore[no-untyped-def]
    settings.UTFALL_TWO_FACTOR = True
    world.caseworker.set_password(PASSWORD)
    world.caseworker.save()
    j = Journey(browser, live_server.url, "tvastegs-aktivera", width)
    password(j, "cw")
    assert "/tvastegs/aktivera/" in j.page.url
    j.check("aktivera")
    device = TOTPDevice.objects.get(user=world.caseworker, confirmed=False)
    j.page.fill("#id_otp_token", wrong(device))
    submit(j, "Fortsätt")
    assert "Koden stämmer inte" in j.page.content()
    j.check("aktivera-fel-kod")
    forgive(device)
    j.page.fill("#id_otp_token", code(device))
    submit(j, "Fortsätt")
    assert "/tvastegs/" not in j.page.url
    j.goto("/uppfoljningar/")
    assert "/uppfoljningar/" in j.page.url
    j.close()


@pytest.mark.parametrize("width", [1280, 375])
def test_one_time_code_and_audit_log_viewer_pages(
    live_server, browser, world: World, settings, width: int
) -> None:  # type: ignore[no-untyped-def]
    settings.UTFALL_TWO_FACTOR = True
    auditor = make_user("granskare", world.municipality, [], Role.AUDITOR)
    auditor.set_password(PASSWORD)
    auditor.save()
    device = TOTPDevice.objects.create(user=auditor, name="telefon", confirmed=True)
    # Something to find: a caseworker's reads.
    world.caseworker.set_password(PASSWORD)
    world.caseworker.save()
    reader = Journey(browser, live_server.url, "lasare", width)
    settings.UTFALL_TWO_FACTOR = False
    password(reader, "cw")
    reader.goto(f"/insatser/{world.interventions['overdue'].pk}/")
    reader.goto(f"/insatser/{world.interventions['soder'].pk}/")  # another unit: refused, logged
    reader.close()
    settings.UTFALL_TWO_FACTOR = True

    j = Journey(browser, live_server.url, "granskare", width)
    password(j, "granskare")
    assert "/tvastegs/" in j.page.url and "aktivera" not in j.page.url
    j.check("engangskod")
    j.page.fill("#id_otp_token", wrong(device))
    submit(j, "Fortsätt")
    assert "Koden stämmer inte" in j.page.content()
    j.check("engangskod-fel-kod")
    forgive(device)
    j.page.fill("#id_otp_token", code(device))
    submit(j, "Fortsätt")
    j.goto("/revision/")
    assert "I-OVERDUE" in j.page.content()
    j.check("revisionslogg")
    j.goto("/revision/?record=I-OVERDUE&action=read")
    j.check("revisionslogg-sok")
    j.goto("/revision/?date_from=2026-13-45")
    j.check("revisionslogg-ogiltig-sokning")
    j.close()
