"""API tokens: made once, shown once, stored as a hash."""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone

from utfall.core.models import ApiToken
from utfall.organisations.models import User


def create_api_token(*, user: User, name: str) -> str:
    """A new token for ``user``; the returned text is the only copy."""
    if user.municipality_id is None:
        raise ValueError("användaren hör inte till någon kommun")
    token = "utf_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        municipality_id=user.municipality_id,
        user=user,
        name=name,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
    )
    return token


def revoke_api_tokens(*, user: User) -> int:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
