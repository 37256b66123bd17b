"""Production is the default; development mode is explicit; nothing technical for strangers."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import Client

from tests.conftest import TEST_KEY

SECRET = "s3cr3t-" + "x7Kq9" * 10  # 57 characters, tests only


def settings_in(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "PYTEST_VERSION", "SECRET_KEY",
                                                               "ALLOWED_HOSTS", "UTFALL_PSEUDONYM_KEY")}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='utfall.settings'; "
         "django.setup(); from django.conf import settings as s; " + code],
        env={**clean, **env}, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_it_starts_in_production_mode_unless_told_otherwise() -> None:
    refused = settings_in({}, "print(s.DEBUG)")
    assert refused.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in refused.stderr

    production = settings_in(
        {"SECRET_KEY": SECRET, "ALLOWED_HOSTS": "utfall.example.org", "UTFALL_PSEUDONYM_KEY": TEST_KEY},
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.UTFALL_TWO_FACTOR)",
    )
    assert production.returncode == 0, production.stderr
    assert production.stdout.split() == ["False", "True", "31536000", "True", "True"]

    development = settings_in({"DEBUG": "true"}, "print(s.DEBUG, s.SECURE_SSL_REDIRECT)")
    assert development.stdout.split() == ["True", "False"]


def test_production_refuses_a_short_secret_key_and_missing_hosts() -> None:
    short = settings_in({"SECRET_KEY": "short", "ALLOWED_HOSTS": "x", "UTFALL_PSEUDONYM_KEY": TEST_KEY}, "")
    assert "at least 50 random characters" in short.stderr
    hosts = settings_in({"SECRET_KEY": SECRET, "UTFALL_PSEUDONYM_KEY": TEST_KEY}, "")
    assert "ALLOWED_HOSTS must name" in hosts.stderr


def test_the_proxy_ssl_header_and_hsts_are_settings() -> None:
    result = settings_in(
        {"SECRET_KEY": SECRET, "ALLOWED_HOSTS": "x", "UTFALL_PSEUDONYM_KEY": TEST_KEY,
         "UTFALL_PROXY_SSL_HEADER": "X-Forwarded-Proto", "SECURE_HSTS_SECONDS": "600"},
        "print(s.SECURE_PROXY_SSL_HEADER, s.SECURE_HSTS_SECONDS)",
    )  # fmt: skip
    assert result.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https') 600"


@pytest.mark.django_db
def test_a_stranger_never_sees_a_technical_404_even_in_development_mode(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = True
    response = client.get("/finns-inte/alls/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "URLconf" not in html and "urlpatterns" not in html.lower()
    assert "api/v1/" not in html
    assert "Sidan finns inte" in html


@pytest.mark.django_db
def test_a_caseworker_never_sees_a_technical_404_either(client: Client, settings, world) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = True
    client.force_login(world.caseworker)
    html = client.get("/uppfoljningar/999999/").content.decode()
    assert "Traceback" not in html and "URLconf" not in html
