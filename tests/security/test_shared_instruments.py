"""Shared instruments change every municipality's questionnaire: a named permission, not staff."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from utfall.instruments.models import InstrumentVersion
from utfall.organisations.models import Role, User

pytestmark = pytest.mark.django_db


def test_a_municipalitys_staff_user_cannot_make_or_publish_a_shared_version(
    client: Client, municipality
) -> None:  # type: ignore[no-untyped-def]
    staff = User.objects.create_user("kommunadmin", municipality=municipality, is_staff=True)
    client.force_login(staff)
    before = InstrumentVersion.objects.count()
    assert client.get("/instrument/").status_code == 403
    assert client.post("/instrument/stockholm-2021/ny-version/").status_code == 403
    assert InstrumentVersion.objects.count() == before
    draft = InstrumentVersion.objects.create(instrument_id=InstrumentVersion.objects.first().instrument_id,  # type: ignore[union-attr]
                                             version=99, respondents=["client"])  # fmt: skip
    code = draft.instrument.code
    assert client.post(f"/instrument/{code}/99/publicera/", {"published_on": "2026-01-01"}).status_code == 403
    draft.refresh_from_db()
    assert draft.status == InstrumentVersion.Status.DRAFT
    assert "Frågeformulär" not in client.get("/").content.decode()


def test_even_with_model_permissions_the_admin_will_not_change_shared_instruments(
    client: Client, municipality
) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Permission

    staff = User.objects.create_user("kommunadmin", municipality=municipality, is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="instruments"))
    staff.user_permissions.remove(Permission.objects.get(codename="edit_shared_instrument"))
    client.force_login(staff)
    version = InstrumentVersion.objects.filter(status="draft").first() or InstrumentVersion.objects.first()
    assert version is not None
    response = client.post(
        f"/admin/instruments/instrumentversion/{version.pk}/change/", {"status": "published"}
    )
    assert response.status_code in (302, 403)
    version.refresh_from_db()
    assert client.get("/admin/instruments/instrumentversion/add/").status_code == 403


def test_a_system_administrator_may_edit_shared_instruments(client: Client) -> None:
    admin = User.objects.create_user("sysadmin", is_staff=True)
    admin.groups.add(Group.objects.get(name=Role.SYSTEM_ADMIN))
    client.force_login(admin)
    assert client.get("/instrument/").status_code == 200
    assert client.post("/instrument/stockholm-2021/ny-version/").status_code == 302
