"""Fixtures for the comparison tests."""

from __future__ import annotations

import pytest

from tests.comparisons.builders import DataSet
from tests.personas import world  # noqa: F401


@pytest.fixture
def small_set(municipality):  # type: ignore[no-untyped-def]
    """Providers A (n 8), B (n 12), C (n 6) and D (n 2) on 'satisfied' in 2025."""
    data = DataSet()
    plan = {"A": "YYYYYYNN", "B": "YYYYYYYYYNNN", "C": "YYYNNN", "D": "YN"}
    for provider, answers in plan.items():
        intervention = data.intervention(f"I{provider}", data.provider(provider))
        for a in answers:
            data.followup(intervention, q3="yes_mostly" if a == "Y" else "no")
    data.load(municipality)
    return municipality
