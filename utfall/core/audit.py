"""The audit log of individual-level reads and writes (DESIGN.md invariant 5).

Every page and API endpoint that shows one client's intervention or follow-up calls
``record`` with the ids it showed. Only record ids are written, never identity numbers,
names or answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpRequest

from utfall.core.models import AuditEntry
from utfall.organisations.models import User


def record(
    request: HttpRequest,
    *,
    action: str,
    kind: str,
    ids: Iterable[str],
    user: User | None = None,
) -> AuditEntry | None:
    """Write one audit entry for ``ids`` (nothing when the list is empty)."""
    ids = list(ids)
    # Only signed-in users reach individual records (an AnonymousUser has no municipality_id).
    actor = cast(User, user or request.user)
    if not ids or actor.municipality_id is None:
        return None
    return AuditEntry.objects.create(
        municipality_id=actor.municipality_id,
        user=actor,
        username=actor.get_username(),
        action=action,
        kind=kind,
        record_ids=ids,
        where=request.path[:200],
    )


def refused(request: HttpRequest, *, user: User, kind: str = "", ids: Iterable[str] = ()) -> AuditEntry:
    """A signed-in user was refused ``request.path`` (403, or a case record of another unit)."""
    return AuditEntry.objects.create(
        municipality_id=user.municipality_id,
        user=user,
        username=user.get_username(),
        action=AuditEntry.Action.REFUSED,
        kind=kind or _kind_of(request.path),
        record_ids=list(ids),
        where=request.path[:200],
    )


def refused_if_exists(
    request: HttpRequest, queryset: QuerySet[Any], *, kind: str, id_field: str, **lookup: Any
) -> None:
    """After a case lookup found nothing the user may see: if the record exists all the same,
    that was a refused access (the caller still answers 404, as for a record that does not
    exist). Its id is written only when it is of the user's own municipality."""
    user = request.user
    if not user.is_authenticated:
        return
    found = queryset.filter(**lookup).values("municipality_id", id_field).first()
    if found is None:
        return
    own = found["municipality_id"] == getattr(user, "municipality_id", None)
    refused(request, user=cast(User, user), kind=kind, ids=[found[id_field]] if own else [])


def _kind_of(path: str) -> str:
    for prefix, kind in (
        ("/uppfoljningar/", "followups"),
        ("/api/v1/followups", "followups"),
        ("/insatser/", "interventions"),
        ("/api/v1/interventions", "interventions"),
        ("/admin/", "admin"),
        ("/revision/", "audit"),
    ):
        if path.startswith(prefix):
            return kind
    return "page"


def record_records(
    request: HttpRequest, *, action: str, kind: str, records: Iterable[tuple[int, str]]
) -> None:
    """Audit entries for records read where the reader may have no municipality of their own
    (the admin): one entry per municipality of the records, ``records`` as (municipality, id)."""
    user = request.user
    by_municipality: dict[int, list[str]] = {}
    for municipality_id, record_id in records:
        by_municipality.setdefault(municipality_id, []).append(record_id)
    for municipality_id, ids in by_municipality.items():
        AuditEntry.objects.create(
            municipality_id=municipality_id,
            user=user if user.is_authenticated else None,
            username=user.get_username(),
            action=action,
            kind=kind,
            record_ids=ids,
            where=request.path[:200],
        )
