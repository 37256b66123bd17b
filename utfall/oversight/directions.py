"""The other two directions of seed 002 for one provider: its in-depth follow-up cases and
its contract and operations follow-up records, for the provider page beside its results."""

from __future__ import annotations

from typing import Any

from utfall.oversight.access import works_on_cases
from utfall.oversight.models import Case, FollowUpRecord
from utfall.registry.models import Provider


def provider_oversight(user: Any, provider: Provider) -> dict[str, Any] | None:
    """Cases and records of the provider, or None for a user who does not work on cases."""
    if not works_on_cases(user) or provider.municipality_id != user.municipality_id:
        return None
    return {
        "cases": list(Case.objects.filter(provider=provider).select_related("owner").order_by("-opened_at")),
        "records": list(
            FollowUpRecord.objects.filter(provider=provider)
            .select_related("contract")
            .prefetch_related("documents")
        ),
    }
