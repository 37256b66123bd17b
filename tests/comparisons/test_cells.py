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
