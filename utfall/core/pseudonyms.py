"""Pseudonyms for clients: keyed HMAC-SHA256 of the normalised identity number.

The key is kept outside the database (``UTFALL_PSEUDONYM_KEY`` or ``..._FILE``). In
development, when no key is configured, a random key is written once to a local file in
the data directory and a warning says so; production refuses to start without a key
(see settings). Losing the key means new imports no longer match old pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from utfall.core.identity import IdentityNumber

logger = logging.getLogger(__name__)

PSEUDONYM_PREFIX = "pseudo:"
PSEUDONYM_RE = re.compile(r"^[0-9a-f]{64}$")


@cache
def _key() -> bytes:
    configured: str = settings.UTFALL_PSEUDONYM_KEY
    if configured:
        return configured.encode()
    if not settings.DEBUG:
        raise ImproperlyConfigured("UTFALL_PSEUDONYM_KEY is required when DEBUG is off")
    path = settings.UTFALL_PSEUDONYM_KEY_PATH
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        logger.warning(
            "Utvecklingsläge: ingen UTFALL_PSEUDONYM_KEY angiven; skapade en lokal nyckel i %s. "
            "Använd aldrig detta i produktion.",
            path,
        )
    return path.read_text(encoding="utf-8").strip().encode()


def reset_key_cache() -> None:
    """Forget the cached key (tests that change the key setting)."""
    _key.cache_clear()


def pseudonymise(number: IdentityNumber) -> str:
    """The client's pseudonym: 64 hex characters, stable for one key."""
    return hmac.new(_key(), number.normalised.encode(), hashlib.sha256).hexdigest()
