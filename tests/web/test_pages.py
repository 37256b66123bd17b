from __future__ import annotations

import pytest
from django.test import Client

from utfall.organisations.models import Role, Unit, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(municipality):  # type: ignore[no-untyped-def]
    return User.objects.create_superuser("admin", password="a-long-password-1", municipality=municipality)


def test_it_asks_an_outsider_to_sign_in(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/logga-in/")
    page = client.get("/logga-in/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="sv">' in html
    assert '<label for="id_username">Användarnamn</label>' in html


def test_it_locks_out_after_repeated_failed_sign_ins(client: Client, municipality) -> None:  # type: ignore[no-untyped-def]
    User.objects.create_user("kim", password="the-right-password", municipality=municipality)
    for _ in range(5):
        client.post("/logga-in/", {"username": "kim", "password": "wrong"})
    response = client.post("/logga-in/", {"username": "kim", "password": "the-right-password"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_passwords_are_hashed_with_argon2(municipality) -> None:  # type: ignore[no-untyped-def]
    user = User.objects.create_user("kim", password="the-right-password", municipality=municipality)
    assert user.password.startswith("argon2")


def test_the_start_page_shows_the_municipalitys_counts(client: Client, municipality) -> None:  # type: ignore[no-untyped-def]
    user = User.objects.create_user("kim", password="the-right-password", municipality=municipality)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert "Testkommun" in response.content.decode()


@pytest.mark.parametrize(
    "page",
    [
        "/admin/registry/provider/",
        "/admin/registry/provider/add/",
        "/admin/registry/contract/",
        "/admin/registry/contract/add/",
        "/admin/organisations/unit/",
        "/admin/organisations/unit/add/",
        "/admin/organisations/user/",
        "/admin/organisations/user/add/",
        "/admin/instruments/instrumentversion/",
    ],
)
def test_an_administrator_manages_the_registry_in_the_admin(client: Client, admin_user, page: str) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    assert client.get(page).status_code == 200


def test_an_administrator_adds_a_unit_and_a_user_with_a_role(
    client: Client, admin_user, municipality
) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Group

    client.force_login(admin_user)
    response = client.post(
        "/admin/organisations/unit/add/",
        {"municipality": municipality.pk, "code": "farsta", "name": "Farsta"},
    )
    assert response.status_code == 302
    unit = Unit.objects.get(code="farsta")
    user = User.objects.create_user("sam", municipality=municipality)
    user.units.add(unit)
    user.groups.add(Group.objects.get(name=Role.CASEWORKER))
    assert user.has_role(Role.CASEWORKER) and not user.has_role(Role.ANALYST)


@pytest.mark.parametrize("kind", ["unit", "provider"])
def test_a_saved_unit_or_provider_keeps_its_municipality(
    client: Client, admin_user, municipality, other_municipality, kind: str
) -> None:  # type: ignore[no-untyped-def]
    """Moving a unit or provider to another municipality would leave its counts and interventions
    under the old tenant and show them to the new one's users: the admin shows the municipality
    of a saved one read-only and ignores one posted (the second reader's note, 2026-12-06)."""
    from utfall.registry.models import Provider

    client.force_login(admin_user)
    if kind == "unit":
        row = Unit.objects.create(municipality=municipality, code="farsta", name="Farsta")
        data = {"code": "farsta", "name": "Farsta Nya"}
    else:
        row = Provider.objects.create(
            municipality=municipality, provider_id="P9001", name="Gården", ownership="private"
        )
        data = {"provider_id": "P9001", "name": "Gården Nya", "ownership": row.ownership, "org_number": ""}
    url = f"/admin/{row._meta.app_label}/{kind}/{row.pk}/change/"
    assert 'name="municipality"' not in client.get(url).content.decode()
    response = client.post(url, {**data, "municipality": other_municipality.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    row.refresh_from_db()
    assert row.municipality_id == municipality.pk and row.name.endswith("Nya")
    # A new one still chooses its municipality.
    assert 'name="municipality"' in client.get(f"/admin/{row._meta.app_label}/{kind}/add/").content.decode()


def test_a_non_staff_user_cannot_open_the_admin(client: Client, municipality) -> None:  # type: ignore[no-untyped-def]
    client.force_login(User.objects.create_user("kim", municipality=municipality))
    assert client.get("/admin/registry/provider/").status_code == 302


def test_the_add_user_form_asks_for_person_municipality_units_and_role_at_once(
    client: Client, admin_user, municipality
) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Group

    unit = Unit.objects.create(municipality=municipality, code="farsta", name="Farsta")
    client.force_login(admin_user)
    page = client.get("/admin/organisations/user/add/").content.decode()
    assert "Socialsekreterare" in page and "Enhetschef" in page and 'name="email"' in page
    # The model's English field names stay out of the Swedish form (the walk of 2026-12-02).
    assert ">Kommun:</label>" in page and ">Enheter:</label>" in page and '"enheter"' in page
    assert ">Municipality:</label>" not in page and ">Units:</label>" not in page
    caseworker = Group.objects.get(name=Role.CASEWORKER)
    response = client.post(
        "/admin/organisations/user/add/",
        {
            "username": "sam", "password1": "ett-langt-losenord-1", "password2": "ett-langt-losenord-1",
            "first_name": "Sam", "last_name": "Berg", "email": "sam@example.org",
            "municipality": municipality.pk, "units": [unit.pk], "roles": [caseworker.pk],
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="sam")
    assert (
        user.has_role(Role.CASEWORKER)
        and list(user.units.all()) == [unit]
        and user.email == "sam@example.org"
    )
    assert "Socialsekreterare" in client.get(f"/admin/organisations/user/{user.pk}/change/").content.decode()


def test_a_published_versions_option_is_read_only_in_the_admin(client: Client, admin_user) -> None:  # type: ignore[no-untyped-def]
    from utfall.instruments.models import InstrumentVersion, Option

    option = Option.objects.filter(question__version__status=InstrumentVersion.Status.PUBLISHED).first()
    assert option is not None
    client.force_login(admin_user)
    url = f"/admin/instruments/option/{option.pk}/change/"
    response = client.get(url)
    assert response.status_code == 200 and 'name="_save"' not in response.content.decode()
    response = client.post(url, {"label": "Ändrad", "code": option.code, "question": option.question_id})
    assert response.status_code == 403
    option.refresh_from_db()
    assert option.label != "Ändrad"


def test_the_favicon_exists(client: Client) -> None:
    response = client.get("/favicon.ico")
    from django.contrib.staticfiles import finders

    assert response.status_code == 301 and response["Location"].endswith("utfall/favicon.svg")
    assert finders.find("utfall/favicon.svg")
