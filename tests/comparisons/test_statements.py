"""Statements built once per shape (utfall.comparisons.cache.compiled, 2026-12-07, prov9).

The SQL of a count table's grouped read is kept per process; the counts never are. A count
read through a kept statement must be the count read through a statement built afresh, after
any write: the data it reads changes (a write), or a value its building read does (an id).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.comparisons.builders import DataSet
from tests.comparisons.test_cold import load
from utfall.comparisons import cache, queries
from utfall.comparisons.cache import bump, cached, compiled, forget_statements
from utfall.comparisons.indicators import all_indicators, get_indicator
from utfall.comparisons.queries import aggregate, aggregate_by_client, aggregate_questions, period_size_rows

pytestmark = pytest.mark.django_db

YEAR = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))


def satisfied(municipality, filters: dict[str, str] | None = None) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return aggregate(get_indicator("satisfied"), municipality=municipality, date_from=YEAR[0], date_to=YEAR[1],
                     by=["provider"], filters=filters)  # fmt: skip


def reads(municipality) -> list[Any]:  # type: ignore[no-untyped-def]
    """The page's kinds of count table reads: by provider, a provider's periods, a few providers'
    periods, the questions at once, an outcome and the assessments, a partition's sizes."""
    questions = [d for d in all_indicators().values() if d.kind == "question"]
    start, end = dt.date(2025, 1, 1), dt.date(2026, 6, 30)
    out: list[Any] = []
    for code in ("satisfied", "situation_improved", "step_down", "assessment_approved"):
        indicator = get_indicator(code)
        out.append(
            aggregate(indicator, municipality=municipality, date_from=start, date_to=end, by=["provider"])
        )
        out.append(aggregate(indicator, municipality=municipality, date_from=start, date_to=end, by=[],
                             filters={"provider": "B"}, period="quarter"))  # fmt: skip
        out.append(aggregate(indicator, municipality=municipality, date_from=start, date_to=end, by=["provider"],
                             period="quarter", among=sorted(queries._codes("provider", municipality))[:2]))  # fmt: skip
    out.append(aggregate_questions(questions, municipality=municipality, date_from=start, date_to=end,
                                   by=["provider"]))  # fmt: skip
    for code in ("satisfied", "assessment_approved"):  # a trend's per-client sums (_with_singles)
        for grain in ("quarter", "year"):
            out.append(aggregate_by_client(get_indicator(code), municipality=municipality, date_from=dt.date(2025, 1, 10),
                                           date_to=end, period=grain))  # fmt: skip
    sizes = period_size_rows(get_indicator("satisfied"), municipality=municipality, date_from=start, date_to=end,
                             grain="quarter", by=["provider"])  # fmt: skip
    out.append(None if sizes is None else (list(sizes.rows), sizes.label))
    return out


def test_counts_read_through_kept_statements_are_those_read_without_them(municipality, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    forget_statements()
    bump()
    built = reads(municipality)  # the statements built
    assert cache._statements
    bump()  # cold: the counts are read again, through the statements kept
    kept = reads(municipality)
    original = queries._grouped

    def plain(qs, prefix, event, year, *args, shape=None, model=None, **kwargs):  # type: ignore[no-untyped-def]
        if callable(qs):
            qs, prefix, event, year = qs()
        return original(qs, prefix, event, year, *args, **kwargs)

    monkeypatch.setattr(queries, "compiled", lambda shape, build: build())  # every statement built
    bump()
    assert reads(municipality) == built
    monkeypatch.setattr(queries, "_grouped", plain)  # and as before, rows through the old path
    bump()
    assert kept == built == reads(municipality)
    assert any(r for r in built if isinstance(r, list))


def test_a_count_after_a_write_is_the_new_count_through_the_kept_statement(municipality, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    forget_statements()
    before = satisfied(municipality)
    shapes = dict(cache._statements)
    data = DataSet()
    data.followup(data.intervention("IB-new", data.provider("B")), date="2025-05-03", q3="yes_mostly")
    data.followups[-1]["followup_id"] = "F-new"
    data.load(municipality)
    builds: list[tuple[Any, ...]] = []
    real = cache.compiled

    def counting(shape, build):  # type: ignore[no-untyped-def]
        def counted_build():  # type: ignore[no-untyped-def]
            builds.append(shape)
            return build()

        return real(shape, counted_build)

    monkeypatch.setattr(queries, "compiled", counting)
    after = satisfied(municipality)
    assert cache._statements.keys() == shapes.keys() and not builds  # the same statements, not built again
    b_before = next(r for r in before if r["provider"] == "B")
    b_after = next(r for r in after if r["provider"] == "B")
    assert (b_after["n"], b_after["events"]) == (b_before["n"] + 1, b_before["events"] + 1)
    assert [r for r in after if r["provider"] != "B"] == [r for r in before if r["provider"] != "B"]


def test_a_statement_is_built_again_when_an_id_it_was_built_with_changes(municipality) -> None:  # type: ignore[no-untyped-def]
    """A provider asked for before it exists is built with no id (-1, no rows); once it is
    imported its id is read again and the kept statement, which names -1, is not used."""
    load(municipality)
    forget_statements()
    assert satisfied(municipality, {"provider": "E"}) == []
    data = DataSet()
    data.followup(data.intervention("IE1", data.provider("E")), date="2025-05-03", q3="no")
    data.followups[-1]["followup_id"] = "F-new"
    data.load(municipality)
    assert [(r["provider"], r["n"], r["events"]) for r in satisfied(municipality, {"provider": "E"})] == [
        ("E", 1, 0)
    ]


def test_a_kept_statement_is_used_while_the_values_read_to_build_it_are_the_same(municipality) -> None:  # type: ignore[no-untyped-def]
    value = {"ids": [1, 2]}
    built: list[list[int]] = []

    def build() -> tuple[str, list[int]]:
        ids = cached(("test-ids",), lambda: list(value["ids"]))
        built.append(ids)
        return "SELECT %s", ids

    forget_statements()
    bump()
    assert compiled(("shape",), build) == ("SELECT %s", [1, 2])
    bump()  # the data changed, the ids did not: kept
    assert compiled(("shape",), build) == ("SELECT %s", (1, 2)) and len(built) == 1
    value["ids"] = [3]
    bump()
    assert compiled(("shape",), build) == ("SELECT %s", [3]) and len(built) == 2
