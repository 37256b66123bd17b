from __future__ import annotations

from typing import Any

from django import template

from utfall.procurement.payment import kronor, pct

register = template.Library()


@register.filter(name="pct")
def pct_filter(value: Any) -> str:
    return pct(None if value is None or value == "" else float(value))


@register.filter(name="kr")
def kr_filter(value: Any) -> str:
    return kronor(None if value is None or value == "" else value)


FLAGS = {"low": "Lägre än förväntat", "high": "Högre än förväntat"}


@register.filter
def flag_text(value: Any) -> str:
    return FLAGS.get(value, "Inom gränserna") if value else "Inom gränserna"
