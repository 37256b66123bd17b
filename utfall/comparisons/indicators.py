"""The canonical indicators, shipped as versioned YAML (definitions/indicators-v1.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from utfall.aggregates.dimensions import AGE_GROUPS

__all__ = [
    "AGE_GROUPS",
    "DIMENSIONS",
    "STEP_DOWN_WINDOW_DAYS",
    "Indicator",
    "all_indicators",
    "get_indicator",
]

DEFINITIONS = Path(__file__).resolve().parent / "definitions"
DIMENSIONS = ("provider", "service", "unit", "sex", "age_group")
STEP_DOWN_WINDOW_DAYS = 90


class UnknownIndicator(ValueError):
    pass


@dataclass(frozen=True)
class Indicator:
    code: str
    kind: str  # question | assessment | step_down | plan_goals | rereferral | coverage
    name: str
    instrument: str = ""
    question: str = ""
    positive: tuple[str, ...] = field(default_factory=tuple)
    rule: str = ""


@cache
def all_indicators() -> dict[str, Indicator]:
    out: dict[str, Indicator] = {}
    for path in sorted(DEFINITIONS.glob("indicators-v*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["indicators"]:
            entry["positive"] = tuple(entry.get("positive", ()))
            out[entry["code"]] = Indicator(**entry)
    return out


def get_indicator(code: str) -> Indicator:
    try:
        return all_indicators()[code]
    except KeyError:
        known = ", ".join(all_indicators())
        raise UnknownIndicator(f"okänd indikator (kända: {known})") from None
