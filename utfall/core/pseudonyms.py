"""Pseudonyms for clients: keyed HMAC-SHA256 of the normalised identity number, with a key
per municipality derived from the master key (``pseudonymise``).

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
    _keyed.cache_clear()
    _derived.cache_clear()


@cache
def _keyed(key: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 with the key already absorbed: copied per message, which saves an
    import the key schedule per row (issue 13.2). Never updated itself."""
    return hmac.new(key, digestmod=hashlib.sha256)


def _mac(key: bytes, message: bytes) -> hmac.HMAC:
    mac = _keyed(key).copy()
    mac.update(message)
    return mac


@cache
def _derived(master: bytes, municipality_code: str) -> bytes:
    return _mac(master, b"utfall/municipality/" + municipality_code.encode()).digest()


def municipality_key(municipality_code: str) -> bytes:
    """The municipality's own key, derived from the master key and its code (issue 16)."""
    return _derived(_key(), municipality_code)


def rekey(master_pseudonym: str, municipality_code: str) -> str:
    """A master-key pseudonym (the form before 2026-12-01) as the municipality's pseudonym.
    Registry migration 0006 turns stored pseudonyms with it; no identity number is needed."""
    return _mac(municipality_key(municipality_code), master_pseudonym.encode()).hexdigest()


def pseudonymise(number: IdentityNumber, municipality_code: str) -> str:
    """The client's pseudonym in one municipality: 64 hex characters, stable for one key.

    HMAC-SHA256 under the municipality's key of the HMAC-SHA256 under the master key of the
    normalised number. The same person gets unrelated pseudonyms in two municipalities, so
    their exports cannot be linked without the master key (docs/privacy.md).
    """
    if not municipality_code:
        raise ValueError("a pseudonym belongs to a municipality: its code is required")
    master = _mac(_key(), number.normalised.encode()).hexdigest()
    return rekey(master, municipality_code)
