"""counted.Cells: count rows as columns, in ``aggregate``'s order (by the shown values as text,
None first), summed over parts."""

from __future__ import annotations

from utfall.comparisons.counted import Cells


def test_parts_are_summed_by_their_values_and_ordered_by_the_shown_text() -> None:
    codes = {1: "P10", 2: "P9", 3: None}.get  # id 3: no code (shown as None, ordered first)
    names = ["provider", "sex", "service"]
    lookups = [codes, None, {7: "b", 8: "a"}.get]
    first = [(1, "male", 7, 5, 2), (2, "female", 8, 1, None), (3, "male", 8, 2, 1)]
    second = [(1, "male", 7, 3, 3), (2, "female", 7, 4, 4), (1, "", 8, 6, 0)]
    cells = Cells.from_parts([first, second], names, lookups)
    assert cells.rows() == [
        {"provider": None, "sex": "male", "service": "a", "events": 1, "n": 2},
        {"provider": "P10", "sex": "", "service": "a", "events": 0, "n": 6},
        {"provider": "P10", "sex": "male", "service": "b", "events": 5, "n": 8},
        {"provider": "P9", "sex": "female", "service": "a", "events": 0, "n": 1},
        {"provider": "P9", "sex": "female", "service": "b", "events": 4, "n": 4},
    ]
    one = Cells.from_parts([second], names, lookups)
    assert [(r["provider"], r["service"], r["n"]) for r in one.rows()] == [
        ("P10", "a", 6),
        ("P10", "b", 3),
        ("P9", "b", 4),
    ]
    assert Cells.from_rows(cells.rows(), names).rows() == cells.rows()
    assert Cells.from_parts([[], []], names, lookups).rows() == []
    assert list(cells.column("sex")) == ["male", "", "male", "female", "female"]


def test_columns_of_texts_as_the_database_sent_them_give_the_cells_of_the_lists() -> None:
    """A text column as an object array (``queries._as_columns``, coded through pandas) gives the
    cells of the same texts as a list (coded through a dict): rows of 0 dropped, a key in several
    rows summed, the levels in the same order."""
    import numpy as np

    codes = {1: "P10", 2: "P9", 3: None}.get
    names = ["provider", "sex", "age_group"]
    provider = np.array([2, 1, 3, 1, 2, 1], dtype=np.int64)
    sex = ["male", "female", "male", "", "male", "female"]
    age = ["65+", "0-12", "13-15", "0-12", "65+", "0-12"]
    n, events = np.array([3, 2, 0, 4, 1, 5]), np.array([1, 2, 0, 3, 1, 0])
    as_lists = Cells.from_columns([provider, sex, age, n, events], names, [codes, None, None], by_row=True)
    as_arrays = Cells.from_columns(
        [provider, np.array(sex, dtype=object), np.array(age, dtype=object), n, events],
        names, [codes, None, None], by_row=True,
    )  # fmt: skip
    assert as_arrays.rows() == as_lists.rows() and as_arrays.levels == as_lists.levels
    assert as_lists.rows() == [
        {"provider": "P10", "sex": "", "age_group": "0-12", "events": 3, "n": 4},
        {"provider": "P10", "sex": "female", "age_group": "0-12", "events": 2, "n": 7},
        {"provider": "P9", "sex": "male", "age_group": "65+", "events": 2, "n": 4},
    ]
    empty = [np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object), np.zeros(0, dtype=object)]
    assert (
        Cells.from_columns([*empty, np.zeros(0), np.zeros(0)], names, [codes, None, None], by_row=True).rows()
        == []
    )


def test_sorted_codes_are_numpys_unique_values_and_positions() -> None:
    """``counted.sorted_codes``: the arrays of ``np.unique(values, return_inverse=True)``, by its
    table over a short range (ids, cell keys) and by the sort over a long one, negatives and
    empty arrays among them (the O/E's cells and its plain counts by provider are keyed by them)."""
    import numpy as np

    from utfall.comparisons.counted import sorted_codes

    rng = np.random.default_rng(13)
    cases = [
        rng.integers(1, 1_000, 53_000),  # providers' ids: the table
        rng.integers(0, 220_500, 53_000),  # cell keys: the table
        rng.integers(0, 1 << 40, 5_000),  # a long range: the sort
        rng.integers(-50, 50, 300),
        np.array([7, 7, 7]),
        np.array([5]),
        np.zeros(0, dtype=np.int64),
    ]
    for values in cases:
        values = values.astype(np.int64)
        want_values, want_positions = np.unique(values, return_inverse=True)
        got_values, got_positions = sorted_codes(values)
        assert got_values.dtype == np.int64 and got_positions.dtype == np.int64
        assert np.array_equal(got_values, want_values)
        assert np.array_equal(got_positions, want_positions.ravel())
        assert np.array_equal(got_values[got_positions], values)
