"""A check shared by the comparison pages' chart tests (tests/stats/test_chart_levels.py and
test_adjusted_chart.py): a page's rows, searched without their 95 % limits, against the rows of
the same comparison not drawn."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

LIMITS = ("lower_95", "upper_95", "lower_998", "upper_998")


def assert_rows_as_before(
    page: Sequence[Mapping[str, Any]], plain: Sequence[Mapping[str, Any]], *, rel: float
) -> None:
    """The page's rows are the plain ones but for the 95 % limits, left None: every other value
    (the flags among them) exactly, the 99.8 % limits at the 4 decimals shown and to ``rel``."""
    for mine, theirs in zip(page, plain, strict=True):
        assert mine["lower_95"] is None and mine["upper_95"] is None
        assert {k: v for k, v in mine.items() if k not in LIMITS} == {
            k: v for k, v in theirs.items() if k not in LIMITS
        }
        for key in ("lower_998", "upper_998"):
            assert (mine[key] is None) == (theirs[key] is None)
            if mine[key] is not None:
                assert round(mine[key], 4) == round(theirs[key], 4)
                assert mine[key] == pytest.approx(theirs[key], rel=rel, abs=0.0)
