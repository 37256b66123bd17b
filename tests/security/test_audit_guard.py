"""The audit log refuses DELETE in the database on both engines, and records refusals."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from utfall.core import sqlite
from utfall.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_the_database_refuses_to_delete_audit_entries(world, client: Client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    client.get(f"/insatser/{world.interventions['overdue'].pk}/")
    assert AuditEntry.objects.count() == 1
    sqlite.ALLOW_AUDIT_DELETE = False
    try:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM core_auditentry")
    finally:
        sqlite.ALLOW_AUDIT_DELETE = True
    assert AuditEntry.objects.count() == 1


def test_a_refused_page_is_written_to_the_audit_log(world, client: Client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.analyst)
    assert client.get("/uppfoljningar/").status_code == 403
    entry = AuditEntry.objects.get()
    assert (entry.username, entry.action, entry.where) == ("analyst", "refused", "/uppfoljningar/")


def test_a_refused_api_call_is_written_to_the_audit_log(world, client: Client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.procurement)
    assert client.get("/api/v1/interventions").status_code == 403
    assert AuditEntry.objects.filter(action="refused", where="/api/v1/interventions").count() == 1


def test_another_units_case_is_a_refused_access_in_the_log(world, client: Client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    assert client.get(f"/insatser/{world.interventions['soder'].pk}/").status_code == 404
    assert client.get("/insatser/987654/").status_code == 404  # does not exist: not a refusal
    refused = AuditEntry.objects.filter(action="refused")
    assert [(e.kind, e.record_ids) for e in refused] == [("interventions", ["I-SODER"])]


def test_the_sqlite_database_file_is_private(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "utfall.sqlite3"
    sqlite3.connect(path).execute("create table t(x)").connection.close()
    os.chmod(path, 0o644)

    class Wrapper:
        vendor = "sqlite"
        settings_dict = {"NAME": str(path)}
        connection = sqlite3.connect(path)

    sqlite.on_connect(None, Wrapper())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_reads_in_the_admin_are_audited_and_staff_see_only_their_municipality(world, client: Client) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Permission

    from utfall.organisations.models import User

    root = User.objects.create_superuser("root", password="a-long-password-1")
    client.force_login(root)
    assert client.get("/admin/registry/intervention/").status_code == 200
    listed = AuditEntry.objects.filter(action="list", kind="interventions", username="root")
    assert {e.municipality_id for e in listed} == {world.municipality.pk, world.other_municipality.pk}
    assert "I-ABROAD" in [i for e in listed for i in e.record_ids]
    pk = world.interventions["overdue"].pk
    assert client.get(f"/admin/registry/intervention/{pk}/change/").status_code == 200
    viewed = AuditEntry.objects.get(action="view", username="root")
    assert viewed.record_ids == ["I-OVERDUE"] and viewed.where.startswith("/admin/")

    staff = User.objects.create_user("kommunadmin", municipality=world.municipality, is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_intervention"))
    client.force_login(staff)
    html = client.get("/admin/registry/intervention/").content.decode()
    assert "I-OVERDUE" in html and "I-ABROAD" not in html
    assert (
        client.get(f"/admin/registry/intervention/{world.interventions['abroad'].pk}/change/").status_code
        == 302
    )
