from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.utils.translation import gettext_lazy

from utfall.procurement.payment import kronor, pct

register = template.Library()


@register.filter(name="pct")
def pct_filter(value: Any) -> str:
    return pct(None if value is None or value == "" else float(value))


@register.filter(name="kr")
def kr_filter(value: Any) -> str:
    return kronor(None if value is None or value == "" else value)


FLAGS = {"low": gettext_lazy("Lägre än förväntat"), "high": gettext_lazy("Högre än förväntat")}


@register.filter
def flag_text(value: Any) -> str:
    return str(FLAGS.get(value, gettext_lazy("Inom gränserna")) if value else gettext_lazy("Inom gränserna"))


def _small(n: Any) -> bool:
    return n is not None and 0 < int(n) < int(settings.UTFALL_MIN_COUNT)


@register.filter
def count(value: Any) -> str:
    """A count as a statement or simulation shows it: below the minimum count only as "färre än
    N" (DESIGN.md invariant 2: no aggregate of fewer than the minimum count leaves the system)."""
    if value is None:
        return "–"
    return f"färre än {settings.UTFALL_MIN_COUNT}" if _small(value) else str(value)


@register.filter
def share_of(rate: Any, n: Any) -> str:
    """A share, hidden when counted from fewer than the minimum count."""
    return "dolt" if _small(n) else pct_filter(rate)


@register.filter
def count_in(value: Any, n: Any) -> str:
    """A part of n (events of n): hidden with n when n is below the minimum count."""
    return f"färre än {settings.UTFALL_MIN_COUNT}" if _small(n) else ("–" if value is None else str(value))
