"""The audit log of individual-level reads and writes (DESIGN.md invariant 5).

Every page and API endpoint that shows one client's intervention or follow-up calls
``record`` with the ids it showed. Only record ids are written, never identity numbers,
names or answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

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
