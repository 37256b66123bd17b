"""Cost per good outcome: bookkeeping by hand, and the interval as the Wilson interval mapped."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from utfall.organisations.models import Municipality
from utfall.procurement.costs import cost_per_outcome, costs
from utfall.stats.proportions import wilson_interval

pytestmark = pytest.mark.django_db


def test_cost_per_good_outcome_by_provider_and_service(market: Municipality) -> None:
    rows = {
        (r["provider"], r["service"]): r for r in costs(market, dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    }
    a = rows[("A", "hvb_youth")]
    assert (a["n"], a["clients"], a["days"], a["cost"]) == (20, 20, 20 * 181, 20 * 181 * 3000)
    assert a["per_intervention"] == a["per_client"] == 181 * 3000
    # 16 of 20 stepped down: 543 000 kr per client / 0.8 = 678 750 kr per client who stepped down.
    assert a["step_down_cost"] == 678750 and a["step_down_n"] == 20
    low_p, high_p = wilson_interval(np.array([16]), np.array([20]), 0.95)
    assert a["step_down_low"] == round(543000 / high_p[0]) and a["step_down_high"] == round(543000 / low_p[0])
    assert ("X", "sis_youth") not in rows  # no price, no cost


def test_the_interval_keeps_the_wilson_coverage_and_is_unbounded_without_events() -> None:
    estimate, low, high = cost_per_outcome(1000.0, 5, 10)
    assert estimate == 2000.0 and low is not None and high is not None and low < 2000 < high
    assert cost_per_outcome(1000.0, 0, 10)[0] is None and cost_per_outcome(1000.0, 0, 10)[2] is None
    assert cost_per_outcome(1000.0, 0, 0) == (None, None, None)
