"""One import at a time per database: a second one, while the first runs, is refused with a
clear message and stores nothing (its checks would read a state that changes under it, and on
SQLite the two would interleave their committed slices)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, connections

from tests.interchange.helpers import write_set
from utfall.interchange.importer import IMPORT_IN_PROGRESS, IMPORT_LOCK_KEY, exclusive_import, import_files
from utfall.registry.models import Provider

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def another_import_running() -> Iterator[None]:
    if connection.vendor == "postgresql":  # the lock is per session: hold it from another one
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [IMPORT_LOCK_KEY])
            yield
        finally:
            other.close()
    else:
        with exclusive_import():
            yield


def test_a_second_import_is_refused_while_one_runs(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    files = write_set(write_csv)
    with another_import_running():
        report = import_files(files, municipality=municipality)
    assert not report.stored and Provider.objects.count() == 0
    assert [i.reason for i in report.issues] == [IMPORT_IN_PROGRESS]
    assert "en annan import pågår" in IMPORT_IN_PROGRESS
    again = import_files(files, municipality=municipality)
    assert again.ok and again.stored and Provider.objects.count() == 2
