from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utfall.stats.suppression import hidden_rows, shown_among, suppress


def _rows(ns):
    return [{"group": f"G{i}", "n": n, "events": n // 2, "rate": 0.5, "flag": None} for i, n in enumerate(ns)]


def test_it_blanks_small_groups_and_the_next_smallest():
    out = suppress(_rows([40, 3, 12, 25]))
    assert [r["suppressed"] for r in out] == [False, True, True, False]
    assert out[1] == {
        "group": "G1",
        "n": None,
        "events": None,
        "rate": None,
        "flag": None,
        "suppressed": True,
    }


def test_two_small_groups_summing_to_the_minimum_need_no_more():
    out = suppress(_rows([40, 3, 2, 25]))
    assert [r["suppressed"] for r in out] == [False, True, True, False]
    out = suppress(_rows([40, 2, 1, 25]))
    assert [r["suppressed"] for r in out] == [False, True, True, True]


def test_without_a_published_total_only_primary_applies():
    out = suppress(_rows([40, 3, 12]), secondary=False)
    assert [r["suppressed"] for r in out] == [False, True, False]


def test_nothing_small_means_nothing_suppressed():
    assert not any(r["suppressed"] for r in suppress(_rows([5, 6, 100])))


def test_the_minimum_can_be_raised_but_not_below_three():
    assert [r["suppressed"] for r in suppress(_rows([9, 12, 30]), min_n=10)] == [True, True, False]
    with pytest.raises(ValueError, match="at least 3"):
        suppress(_rows([9]), min_n=2)


@given(
    st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=12),
    st.integers(min_value=3, max_value=15),
)
def test_no_small_aggregate_leaks_directly_or_by_subtraction(ns, min_n):
    out = suppress(_rows(ns), min_n=min_n)
    visible = [n for n, r in zip(ns, out, strict=True) if not r["suppressed"]]
    hidden = [n for n, r in zip(ns, out, strict=True) if r["suppressed"]]
    assert all(n >= min_n for n in visible)
    assert all(r["n"] is None and r["events"] is None for r in out if r["suppressed"])
    if hidden and visible:
        # total − visible reveals only the hidden rows' sum: never one row, never small.
        assert len(hidden) >= 2 and sum(hidden) >= min_n


@given(
    st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=30),
    st.lists(st.integers(min_value=0, max_value=29), max_size=3),
)
def test_the_rule_on_sizes_alone_hides_what_suppress_hides(ns, marked):
    """hidden_rows (the rule without row dicts, for the partitions' checks) gives the positions
    suppress() marks, with rows already marked, and keeps the rule's guarantees."""
    from utfall.stats.suppression import hidden_rows

    flagged = sorted({i for i in marked if i < len(ns)})
    rows = [{**row, "suppressed": i in flagged} for i, row in enumerate(_rows(ns))]
    hidden = hidden_rows(ns, min_n=5, flagged=flagged)
    assert hidden == {i for i, r in enumerate(suppress(rows, min_n=5)) if r["suppressed"]}
    assert set(flagged) <= hidden
    assert all(n >= 5 for i, n in enumerate(ns) if i not in hidden)
    if hidden and len(hidden) < len(ns):
        assert len(hidden) > 1 and sum(ns[i] for i in hidden) >= 5


@given(
    st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=14),
    st.integers(min_value=0, max_value=13),
    st.lists(st.booleans(), min_size=14, max_size=14),
    st.sampled_from([3, 5, 10]),
)
def test_a_row_decided_from_some_other_rows_is_decided_as_the_whole_partition_decides(ns, pick, known, min_n):
    """shown_among: from any subset of the other rows, a decision is the rule's on every row
    (empty rows left out, as hidden_in_partitions)."""
    row = pick % len(ns)
    present = [i for i, n in enumerate(ns) if n]
    hidden = {present[j] for j in hidden_rows([ns[i] for i in present], min_n=min_n)}
    others = [(ns[i], i) for i in range(len(ns)) if i != row and known[i]]
    decided = shown_among(ns[row], row, others, min_n=min_n)
    if decided is not None:
        assert decided == (row not in hidden)


def test_a_row_of_the_minimum_is_hidden_when_it_is_the_smallest_shown_beside_one_small_row():
    assert hidden_rows([3, 5, 5, 9], min_n=5) == {0, 1}
    assert shown_among(5, 1, [(3, 0), (9, 3)], min_n=5) is None  # the rule hides it; nothing proves it shown
    assert shown_among(5, 2, [(5, 1)], min_n=5) is True  # the one before it on the tie goes instead
    assert shown_among(5, 1, [(3, 0), (2, 4)], min_n=5) is True  # two small rows of 5: nothing added
    assert shown_among(3, 0, [], min_n=5) is False
