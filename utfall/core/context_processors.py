from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from utfall.organisations.access import is_auditor, roles, sees_cases
from utfall.organisations.models import Role


def access(request: HttpRequest) -> dict[str, Any]:
    """Whether the menu shows the case pages (caseworkers and unit managers only)."""
    from django.conf import settings

    user = getattr(request, "user", None)
    return {
        "sees_cases": sees_cases(user),
        # The menu link to the instrument editor; the editor itself checks the permission. Read
        # from the roles already loaded, so that the menu costs no query of its own.
        "edits_instruments": bool(
            user is not None
            and (
                user.is_superuser
                or Role.SYSTEM_ADMIN.value in roles(user)
                or (Role.INSTRUMENT_EDITOR.value in roles(user) and user.municipality_id is not None)
            )
        ),
        "is_auditor": is_auditor(user),
        # Menu links to the contracts (procurement) and to a provider account's own page.
        "manages_contracts": bool(
            user is not None
            and getattr(user, "municipality_id", None)
            and Role.PROCUREMENT.value in roles(user)
        ),
        "provider_account": bool(
            user is not None and getattr(user, "provider_id", None) and Role.PROVIDER.value in roles(user)
        ),
        "oidc": settings.UTFALL_OIDC,
    }
