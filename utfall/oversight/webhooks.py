"""The outgoing webhook to the quality management system (docs/oversight.md).

Events are written to an outbox (:class:`WebhookMessage`) in the same transaction as the
change they announce, one message per active endpoint. ``utfall webhooks`` delivers the due
messages: each POST is signed in the Standard Webhooks style (``webhook-id``,
``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>``),
every attempt is logged, a refused or failed one is retried with back-off, and a message
acknowledged with 2xx is marked delivered and never sent again (a run claims a message
before sending it, so two runs at once cannot both deliver it; the receiver can also drop
repeats by ``webhook-id``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from utfall.oversight.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

#: Seconds to wait after the 1st, 2nd, … failed attempt; after the last the message fails.
BACKOFF = (30, 120, 600, 3600, 6 * 3600, 24 * 3600)
TIMEOUT_SECONDS = 10
#: A claimed message is not tried by another run for this long (longer than the timeout).
LEASE_SECONDS = 120
SCHEMA_VERSION = 1


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    raw = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        return raw.encode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value (Standard Webhooks, scheme v1)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300) -> bool:
    """What a receiver checks (used by the tests' receiver and documented for integrators)."""
    try:
        timestamp = int(headers["webhook-timestamp"])
        expected = sign(secret, headers["webhook-id"], timestamp, body).split(",", 1)[1]
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    offered = [part.split(",", 1)[1] for part in headers.get("webhook-signature", "").split() if "," in part]
    return any(hmac.compare_digest(expected, sig) for sig in offered)


def emit(municipality_id: int, event_type: str, data: dict[str, Any]) -> int:
    """Queue ``event_type`` for every active endpoint of the municipality (call inside the
    writing transaction). Returns the number of messages queued."""
    endpoints = WebhookEndpoint.objects.filter(municipality_id=municipality_id, active=True)
    now = timezone.now()
    made = 0
    for endpoint in endpoints:
        message_id = f"msg_{uuid.uuid4().hex}"
        payload = {
            "type": event_type,
            "timestamp": now.isoformat(),
            "schema_version": SCHEMA_VERSION,
            "data": data,
        }
        WebhookMessage.objects.create(
            municipality_id=municipality_id, endpoint=endpoint, message_id=message_id,
            event_type=event_type, payload=payload, next_attempt_at=now,
        )  # fmt: skip
        made += 1
    return made


def _post(message: WebhookMessage) -> tuple[int | None, str]:
    if not message.endpoint.url.startswith(("https://", "http://")):
        return None, "adressen ska börja med https:// eller http://"
    body = json.dumps(message.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        message.endpoint.url,
        data=body,
        method="POST",
        headers={
            "content-type": "application/json",
            "user-agent": "utfall-webhooks/1",
            "webhook-id": message.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(message.endpoint.secret, message.message_id, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (scheme checked above)
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        return int(exc.code), f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        return None, str(getattr(exc, "reason", exc))[:300]


def _due(now: dt.datetime, limit: int) -> list[int]:
    return list(
        WebhookMessage.objects.filter(status=WebhookMessage.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def deliver_one(pk: int) -> str | None:
    """Try one message if it is still due; returns its status afterwards, or None when another
    run has claimed it or it is no longer pending.

    The claim is one conditional UPDATE (a lease of :data:`LEASE_SECONDS`), so no database
    lock is held while the receiver answers; a run that dies mid-send leaves the message to be
    tried again after the lease, with the same ``webhook-id``.
    """
    now = timezone.now()
    claimed = WebhookMessage.objects.filter(
        pk=pk, status=WebhookMessage.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + dt.timedelta(seconds=LEASE_SECONDS))
    if not claimed:
        return None
    message = WebhookMessage.objects.select_related("endpoint").get(pk=pk)
    started = time.monotonic()
    status_code, error = _post(message)
    ok = status_code is not None and 200 <= status_code < 300
    with transaction.atomic():
        WebhookAttempt.objects.create(
            municipality_id=message.municipality_id,
            message=message, status_code=status_code, error=error,
            duration_ms=int((time.monotonic() - started) * 1000), acknowledged=ok,
        )  # fmt: skip
        message.attempts += 1
        if ok:
            message.status = WebhookMessage.Status.DELIVERED
            message.delivered_at = timezone.now()
        elif message.attempts > len(BACKOFF):
            message.status = WebhookMessage.Status.FAILED
        else:
            message.next_attempt_at = timezone.now() + dt.timedelta(seconds=BACKOFF[message.attempts - 1])
        message.save(update_fields=["status", "attempts", "next_attempt_at", "delivered_at"])
    return message.status


def deliver_due(*, limit: int = 500) -> dict[str, int]:
    """Deliver every due message once; counts by outcome."""
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    for pk in _due(timezone.now(), limit):
        status = deliver_one(pk)
        if status == WebhookMessage.Status.DELIVERED:
            counts["delivered"] += 1
        elif status == WebhookMessage.Status.FAILED:
            counts["failed"] += 1
        elif status == WebhookMessage.Status.PENDING:
            counts["retry"] += 1
    return counts
