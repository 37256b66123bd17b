from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from utfall.organisations.access import sees_cases


def access(request: HttpRequest) -> dict[str, Any]:
    """Whether the menu shows the case pages (caseworkers and unit managers only)."""
    from django.conf import settings

    return {"sees_cases": sees_cases(getattr(request, "user", None)), "oidc": settings.UTFALL_OIDC}
