"""Work saved on a cold page (2026-12-02, issue 17 point 14, issue 13): the data token read
once per request, a trend's per-period cells counted in one query. Neither may ever give a
count other than the one the plain path gives."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.signals import request_finished, request_started
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.comparisons.builders import DataSet
from utfall.comparisons.cache import bump
from utfall.comparisons.disclosure import protected_by_client
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import aggregate, prefetch_periods
from utfall.comparisons.sql import periods
from utfall.followups.models import Answer

pytestmark = pytest.mark.django_db

ANSWERS = ("yes_completely", "yes_mostly", "no", "yes_somewhat")


def load(municipality) -> None:  # type: ignore[no-untyped-def]
    """Four providers, answers spread over 2025 and the first half of 2026 (one quarter empty)."""
    data = DataSet()
    for i, provider in enumerate(("A", "B", "C", "D")):
        data.provider(provider)
        for k in range(6 + 2 * i):
            intervention = data.intervention(f"I{provider}{k}", provider)
            month = 1 + (k * 5 + i * 2) % 18
            if month in (7, 8, 9):  # 2025-K3: no answers at all
                month += 3
            day = dt.date(2025 + (month - 1) // 12, (month - 1) % 12 + 1, 3 + k)
            data.followup(intervention, date=day.isoformat(), q3=ANSWERS[(k + i) % 4])
    data.load(municipality)


def counts(municipality, start: dt.date, end: dt.date, by: list[str], filters: dict[str, str]):  # type: ignore[no-untyped-def]
    return aggregate(get_indicator("satisfied"), municipality=municipality, date_from=start, date_to=end,
                     by=by, filters=filters)  # fmt: skip


@pytest.mark.parametrize("grain", ["quarter", "year"])
@pytest.mark.parametrize(("by", "filters"), [([], {}), ([], {"provider": "B"}), (["provider"], {})])
def test_counts_of_every_period_at_once_are_those_of_each_period_alone(
    municipality, grain: str, by: list[str], filters: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    spans = periods(grain, dt.date(2025, 1, 1), dt.date(2026, 12, 31))  # whole calendar periods
    bump()
    alone = {label: counts(municipality, start, end, by, filters) for label, start, end in spans}
    assert any(rows and rows[0]["n"] for rows in alone.values())
    bump()  # nothing cached: the next counts come from the one query
    prefetch_periods(get_indicator("satisfied"), municipality=municipality, date_from=dt.date(2025, 2, 3),
                     date_to=dt.date(2026, 11, 9), grain=grain, by=by, filters=filters)  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        together = {label: counts(municipality, start, end, by, filters) for label, start, end in spans}
    assert together == alone
    assert not [q for q in queries if "token" not in q["sql"]], "every period was counted already"


def test_a_trend_counts_its_quarters_cells_in_a_few_queries(municipality) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    indicator = get_indicator("satisfied")
    kwargs = {"municipality": municipality, "date_from": dt.date(2025, 1, 1), "date_to": dt.date(2026, 6, 30),
              "period": "quarter", "filters": {"provider": "C"}}  # fmt: skip
    bump()
    with CaptureQueriesContext(connection) as queries:
        trend = protected_by_client(indicator, **kwargs)
    counted = [q for q in queries if "token" not in q["sql"]]
    assert len(trend) >= 4
    # The per-client read, the cells and the partition by provider (not two per quarter),
    # plus small look-ups (codes, comparable versions, the provider's key).
    assert len(counted) <= 8, [q["sql"][:120] for q in counted]


def test_within_a_request_the_token_is_read_once_and_a_write_is_seen_at_once(municipality) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    year = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    request_started.send(sender=None)
    try:
        before = counts(municipality, *year, [], {})[0]
        with CaptureQueriesContext(connection) as queries:
            for _ in range(3):
                counts(municipality, *year, ["provider"], {})
                counts(municipality, *year, [], {})
        assert sum("core_datageneration" in q["sql"] for q in queries) == 0  # remembered
        answer = Answer.objects.filter(option__code="no", date__year=2025).first()
        assert answer is not None
        with transaction.atomic():  # a write in this request, committed
            answer.followup.delete()
        after = counts(municipality, *year, [], {})[0]
        assert after["n"] == before["n"] - 1
        assert after["events"] == before["events"]
    finally:
        request_finished.send(sender=None)


def test_within_a_request_counts_of_a_rolled_back_write_are_never_served(municipality) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    year = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    request_started.send(sender=None)
    try:
        before = counts(municipality, *year, [], {})[0]
        answer = Answer.objects.filter(date__year=2025).first()
        assert answer is not None
        with pytest.raises(RuntimeError), transaction.atomic():
            answer.followup.delete()
            # Counted (and cached) inside the transaction:
            assert counts(municipality, *year, [], {})[0]["n"] == before["n"] - 1
            raise RuntimeError("rolled back")
        with transaction.atomic():  # another transaction at the same depth reads the real token
            assert counts(municipality, *year, [], {})[0] == before
        assert counts(municipality, *year, [], {})[0] == before
    finally:
        request_finished.send(sender=None)
