"""The database behind :mod:`utfall.stats.overdispersion.store`: fits kept between processes,
inside :func:`fits_kept_for` a municipality.

One row per municipality and key (:class:`~utfall.core.models.StoredFit`). A load is one
indexed read; the fits a block computed are saved in one insert that writes over a row another
process saved meanwhile (the same text) or a damaged one (which ``decode`` refused). Saving
never fails the page: a locked SQLite file (a save waits :data:`SQLITE_WAIT_MS` for the write
lock, not the connection's 20 s) or a lost connection logs a warning, and the fits are computed
again next time. The save runs in ``atomic`` (a savepoint inside a caller's transaction, so a
failed statement does not spoil it on PostgreSQL). Rows older than :data:`KEPT_DAYS` are
deleted by their municipality's next save; a fit asked for after that is computed and stored
once more. Decision and reason: docs/decisions.md (2026-12-06, "Stored fits").
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import Error, connection, transaction
from django.utils import timezone

from utfall.core.models import StoredFit

F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger(__name__)

#: Days a stored fit is kept after it was saved.
KEPT_DAYS = 60

_LOAD_SQL = f"SELECT text FROM {StoredFit._meta.db_table} WHERE municipality_id = %s AND key = %s"  # noqa: S608 (our table)


class DatabaseFitStore:
    """:class:`utfall.stats.overdispersion.store.FitStore` in the ``core_storedfit`` table."""

    def load(self, owner: int, key: str) -> str | None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(_LOAD_SQL, [owner, key])
                row = cursor.fetchone()
        except Error as error:  # a lost connection: compute instead
            log.warning("stored fits could not be read: %s", type(error).__name__)
            return None
        return None if row is None else str(row[0])

    def save(self, owner: int, fits: dict[str, str]) -> None:
        today = timezone.localdate()
        # Every process writes its keys in one order: no deadlock between two saves.
        rows = [
            StoredFit(municipality_id=owner, key=key, text=text, stored=today)
            for key, text in sorted(fits.items())
        ]
        try:
            with _briefly_waiting(), transaction.atomic():
                # Only this municipality's rows: a save touches no other tenant's (one shard on Citus).
                old = StoredFit.objects.filter(
                    municipality_id=owner, stored__lt=today - dt.timedelta(days=KEPT_DAYS)
                )
                old.delete()
                # A row another process saved meanwhile, or a damaged one, is written over.
                StoredFit.objects.bulk_create(
                    rows,
                    update_conflicts=True,
                    unique_fields=["municipality", "key"],
                    update_fields=["text", "stored"],
                )
        except Error as error:
            log.warning("%d fits could not be stored: %s", len(rows), type(error).__name__)


#: How long a save waits for SQLite's write lock (an import holds it in slices of seconds): a
#: fit not saved is only computed again, while a page kept waiting is a user kept waiting.
SQLITE_WAIT_MS = 200


@contextmanager
def _briefly_waiting() -> Iterator[None]:
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_WAIT_MS:d}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {before:d}")


@contextmanager
def fits_kept_for(owner: int | None) -> Iterator[None]:
    """The fits computed inside are looked up in and saved to this table under the municipality
    ``owner`` (:func:`utfall.stats.overdispersion.stored_fits`). The statistics are imported
    here, not with this module: a command that fits nothing loads no numpy."""
    from utfall.stats.overdispersion import stored_fits

    with stored_fits(owner, _DATABASE):
        yield


def fits_stored_by_municipality(function: F) -> F:
    """Run ``function(..., municipality=…)`` inside :func:`fits_kept_for` that municipality."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with fits_kept_for(getattr(kwargs.get("municipality"), "pk", None)):
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


_DATABASE = DatabaseFitStore()
