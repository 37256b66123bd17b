"""A municipality with planted small cells (n = 1–4) that the differencing attacks of issue 10.6 go after.

Every follow-up has its own client and intervention, so n counts follow-ups. All in 2025, on
'satisfied' (q3); the answers alternate yes/no from a per-provider offset.

- A: 20 women aged 16–17 (6 in each of Q1–Q3, 2 in November) and **2 men** (May).
- B: 13 women in hvb_youth and **2 in outpatient_youth** (March).
- C: 10 women aged 16–17 and **2 aged 13–15**.
- D: 10 women, **one of them on 31 December**.
- E: 6 women in outpatient_youth.
- F: **3 women** (hidden in every comparison by provider; E, the smallest shown, with it).
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.comparisons.builders import DataSet

SIXTEEN = dt.date(2008, 6, 1)
FOURTEEN = dt.date(2011, 6, 1)


def _plant(data: DataSet, provider: str, dates: list[str], *, female: bool = True,
           born: dt.date = SIXTEEN, service: str = "hvb_youth", offset: int = 0) -> None:  # fmt: skip
    for i, date in enumerate(dates):
        iid = data.intervention(f"I{provider}{len(data.interventions)}", provider, service=service,
                                person_id=data.person(born=born, female=female))  # fmt: skip
        data.followup(iid, date=date, q3="yes_mostly" if (i + offset) % 3 else "no")


def _spread(count: int, months: tuple[int, ...]) -> list[str]:
    return [f"2025-{months[i % len(months)]:02d}-{1 + i // len(months):02d}" for i in range(count)]


@pytest.fixture
def attack_set(municipality):  # type: ignore[no-untyped-def]
    data = DataSet()
    for pid in "ABCDEF":
        data.provider(pid)
    _plant(
        data,
        "A",
        _spread(6, (1, 2, 3)) + _spread(6, (4, 5, 6)) + _spread(6, (7, 8, 9)) + ["2025-11-10", "2025-11-20"],
    )
    _plant(data, "A", ["2025-05-10", "2025-05-20"], female=False, offset=1)
    _plant(data, "B", _spread(13, (1, 4, 7)), offset=2)
    _plant(data, "B", ["2025-03-10", "2025-03-11"], service="outpatient_youth", offset=1)
    _plant(data, "C", _spread(10, (2, 5, 8)))
    _plant(data, "C", ["2025-02-10", "2025-02-11"], born=FOURTEEN, offset=2)
    _plant(data, "D", [*_spread(9, (1, 2, 3)), "2025-12-31"], offset=1)
    _plant(data, "E", _spread(6, (3, 6, 9)), service="outpatient_youth")
    _plant(data, "F", _spread(3, (4, 5, 6)), offset=1)
    data.load(municipality)
    return municipality
