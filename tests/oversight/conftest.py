"""Fixtures for the oversight tests: a municipality with known deviating providers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.comparisons.builders import DataSet
from tests.personas import world  # noqa: F401

POSITIVE, NEGATIVE = "yes_mostly", "no"
#: Providers and their positives out of 40 per year and question (q1, q2, q3).
#: N01–N10 are ordinary (30–34 of 40); the rest are planted:
#:  LOW998  – far below on q3 (satisfied) in 2025: outside 99.8 %          → outside_998
#:  TWICE   – just below the 95 % limit on q2 (influence) in 2024 and 2025 → outside_95_twice
#:  SEVERAL – just below on q1 and q2 in 2025 only                         → low_on_several
#:  ONCE    – just below on q1 in 2025 only                               → not proposed
#:  HIGH    – all 40 positive on q1–q3 in 2025                             → positive deviation
#:  TINY    – 3 follow-ups, all negative: below the minimum count          → never proposed
#:  SMALL   – 8 ordinary follow-ups a year (the one hidden beside TINY, so that TINY cannot be
#:            worked out from the total: secondary suppression)
PLAN: dict[str, dict[str, tuple[int, int, int]]] = {
    **{f"N{i:02d}": {"2024": (30 + i % 5,) * 3, "2025": (30 + (i + 2) % 5,) * 3} for i in range(1, 11)},
    "LOW998": {"2024": (32, 32, 32), "2025": (32, 32, 12)},
    "TWICE": {"2024": (32, 25, 32), "2025": (32, 25, 32)},
    "SEVERAL": {"2024": (32, 32, 32), "2025": (25, 25, 32)},
    "ONCE": {"2024": (32, 32, 32), "2025": (25, 32, 32)},
    "HIGH": {"2024": (32, 32, 32), "2025": (40, 40, 40)},
}


def build(data: DataSet, plan: dict[str, dict[str, tuple[int, int, int]]], size: int = 40) -> None:
    for provider, years in plan.items():
        data.provider(provider)
        for year, positives in years.items():
            intervention = data.intervention(f"I{provider}{year}", provider)
            for k in range(size):
                answers = {
                    q: POSITIVE if k < p else NEGATIVE
                    for q, p in zip(("q1", "q2", "q3"), positives, strict=True)
                }
                data.followup(intervention, date=f"{year}-{1 + k % 12:02d}-15", **answers)


@pytest.fixture
def deviating(world: Any) -> Any:  # noqa: F811
    """The world's municipality with the providers of :data:`PLAN` (and TINY)."""
    data = DataSet()
    build(data, PLAN)
    data.provider("TINY")
    tiny = data.intervention("ITINY", "TINY")
    for _ in range(3):
        data.followup(tiny, date="2025-03-01", q1=NEGATIVE, q2=NEGATIVE, q3=NEGATIVE)
    build(data, {"SMALL": {"2024": (6, 6, 6), "2025": (6, 6, 6)}}, size=8)
    data.load(world.municipality)
    return world


@pytest.fixture(autouse=True)
def _documents(settings: Any, tmp_path: Any) -> None:
    settings.UTFALL_DOCUMENT_DIR = tmp_path / "documents"
