"""The import's projections and folds (``aggregates.tally._project``, ``_fold``, 2026-12-07)
against the reference ones (``aggregates.counts.project``, ``fold``) that ``rebuild-aggregates``
uses: the same counts in the same keys' order, on seeded deltas with several municipalities,
months over years (as dates and as the ISO text a Tally holds on SQLite), providers, services,
units, contracts (some missing), sexes, age groups, questions and options of every flag."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest

from utfall.aggregates import counts, tally
from utfall.aggregates.counts import ANSWER_KEY, FOLDED, ROLLUPS

#: option → (counts, positive); option 9 has no flags (not found: counts nowhere).
FLAGS = {1: (True, True), 2: (True, False), 3: (False, False), 4: (True, True)}


def _month(rng: random.Random, as_text: bool) -> object:
    day = dt.date(rng.choice((2023, 2024, 2025)), rng.randint(1, 12), 1)
    return day.isoformat() if as_text else day


def _common(rng: random.Random, as_text: bool) -> tuple[object, ...]:
    return (
        rng.choice((1, 2)),
        _month(rng, as_text),
        rng.randint(1, 6),
        rng.randint(1, 3),
        rng.randint(1, 4),
        rng.choice((None, 7, 8)),
        rng.choice(("K", "M", "")),
        rng.choice(("18-29", "30-49", "okänd")),
    )


def _deltas(seed: int, as_text: bool) -> tuple[Counter, Counter]:
    rng = random.Random(seed)
    answers: Counter = Counter()
    followups: Counter = Counter()
    for _ in range(4000):
        answers[(*_common(rng, as_text), rng.randint(1, 5), rng.choice((1, 2, 3, 4, 9)))] += rng.randint(1, 3)
        followups[
            (
                *_common(rng, as_text),
                rng.choice(("a", "b")),
                rng.choice(("", "x", "y")),
                rng.choice((None, 5)),
            )
        ] += 1
    return answers, followups


@pytest.mark.parametrize("as_text", [True, False])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_project_and_fold_as_the_reference(seed: int, as_text: bool) -> None:
    answers, followups = _deltas(seed, as_text)
    made = tally._sources(answers, followups)  # as Tally.apply: the full keys by year first
    assert len(made[0][1]) < len(answers)
    for _model, fields, full in ROLLUPS:
        source = answers if full is ANSWER_KEY else followups
        want = counts.project(source, full, fields)
        got = tally._project(source, full, fields)
        assert got == want and list(got) == list(want)
        # and from the smallest delta projected before it, as Tally.apply does (a rollup by year
        # from one by month or from the full keys by year)
        by, counted = tally._smallest(made, fields)
        if "year" in fields:
            assert "year" in by or len(counted) < len(answers if full is ANSWER_KEY else followups)
        again = tally._project(counted, by, fields)
        assert again == want
        made.append((fields, got))
    for _model, fields, full in FOLDED:
        want_n, want_events = counts.fold(answers, full, fields, FLAGS)
        got_n, got_events = tally._fold(answers, full, fields, FLAGS)
        assert got_n == want_n and list(got_n) == list(want_n)
        assert got_events == want_events and list(got_events) == list(want_events)
        assert sum(got_n.values()) > sum(got_events.values()) > 0
        by, counted = tally._smallest(made, (*fields, "option_id"))
        assert tally._fold(counted, by, fields, FLAGS) == (want_n, want_events)
