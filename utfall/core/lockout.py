"""Lock-out after failed sign-ins (django-axes, configured in settings).

A user name is locked from one client address after ``UTFALL_LOCKOUT_LIMIT`` failures there,
and from every address after ``UTFALL_LOCKOUT_USERNAME_LIMIT`` failures in all. An address
alone is never locked: a municipality's staff reach the server through a few shared
addresses, and one person's typing must not lock out a whole office. Each failure past a
limit doubles the wait, from ``UTFALL_LOCKOUT_MINUTES`` up to one day (progressive back-off).

The client's address is the connection's, or, behind a reverse proxy, the one the proxy
wrote into ``UTFALL_CLIENT_IP_HEADER`` (the last ``UTFALL_PROXY_COUNT`` entries are the
proxies' own; what a client writes in front of them is never believed).
"""

from __future__ import annotations

import datetime as dt
import ipaddress

from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone

MAX_COOL_OFF = dt.timedelta(days=1)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as this deployment is configured to read it."""
    header = settings.UTFALL_CLIENT_IP_HEADER
    if header:
        raw = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        hops = [part.strip() for part in raw.split(",") if part.strip()]
        count = max(settings.UTFALL_PROXY_COUNT, 1)
        if len(hops) >= count:
            candidate = hops[-count]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR")


def _username(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    from axes.helpers import get_client_username

    credentials = getattr(request, "axes_credentials", None)
    return get_client_username(request, credentials)


def _failures(username: str | None, ip: str | None = None, *, since: dt.datetime | None = None) -> int:
    from axes.models import AccessAttempt

    if username is None:
        return 0
    attempts = AccessAttempt.objects.filter(username=username)
    if ip is not None:
        attempts = attempts.filter(ip_address=ip)
    if since is not None:
        attempts = attempts.filter(attempt_time__gte=since)
    return int(attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0)


def cool_off(request: HttpRequest | None) -> dt.timedelta:
    """How long failures count: the base time, doubled for each failure past the first limit."""
    base = dt.timedelta(minutes=settings.UTFALL_LOCKOUT_MINUTES)
    failures = _failures(_username(request))
    excess = max(0, failures - settings.UTFALL_LOCKOUT_LIMIT)
    if excess > 20:  # 2**20 × 15 min is far past the cap; keep the arithmetic small
        return MAX_COOL_OFF
    return min(base * 2**excess, MAX_COOL_OFF)


def failure_limit(request: HttpRequest, credentials: dict[str, object] | None = None) -> int:
    """The limit axes compares with the user name's failures (from all addresses).

    Axes counts the larger of "this user name" and "this user name from this address", which
    is the first. To lock the pair at the lower limit, the limit returned is that count itself
    once the pair has reached it; otherwise the user name's own limit.
    """
    from axes.helpers import get_client_username

    username = get_client_username(request, credentials)
    since = timezone.now() - cool_off(request)
    pair = _failures(username, getattr(request, "axes_ip_address", None) or client_ip(request), since=since)
    if pair >= settings.UTFALL_LOCKOUT_LIMIT:
        return pair
    return int(settings.UTFALL_LOCKOUT_USERNAME_LIMIT)
