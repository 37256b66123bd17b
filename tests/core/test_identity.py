from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utfall.core.identity import (
    InvalidIdentityNumber,
    format_identity_number,
    luhn_check_digit,
    luhn_ok,
    parse_identity_number,
)

TODAY = dt.date(2026, 6, 30)


def synthetic(born: dt.date, serial: int, coordination: bool = False) -> str:
    return format_identity_number(born, serial, coordination=coordination)


def test_it_reads_sex_and_birth_year_from_a_twelve_digit_number() -> None:
    # The ninth digit of the ten-digit form (the serial's last) is odd for men, even for women.
    woman = parse_identity_number(synthetic(dt.date(1990, 5, 17), 124), today=TODAY)
    assert (woman.birth_year, woman.sex) == (1990, "female")
    man = parse_identity_number(synthetic(dt.date(1990, 5, 17), 131), today=TODAY)
    assert man.sex == "male"


def test_it_accepts_ten_digits_with_and_without_separator() -> None:
    full = synthetic(dt.date(2008, 2, 29), 456)
    short = full[2:]
    assert parse_identity_number(short, today=TODAY).normalised == full.replace("-", "")
    assert parse_identity_number(short.replace("-", ""), today=TODAY).normalised == full.replace("-", "")


def test_plus_marks_a_centenarian() -> None:
    full = synthetic(dt.date(1920, 1, 5), 777)
    ten_plus = full[2:].replace("-", "+")
    assert parse_identity_number(ten_plus, today=TODAY).birth_year == 1920
    assert parse_identity_number(full[2:], today=TODAY).birth_year == 2020


def test_it_accepts_coordination_numbers() -> None:
    number = parse_identity_number(synthetic(dt.date(1985, 3, 9), 240, coordination=True), today=TODAY)
    assert number.is_coordination_number
    assert number.birth_date == dt.date(1985, 3, 9)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda s: s[:-1] + str((int(s[-1]) + 1) % 10), "kontrollsiffran"),
        (lambda s: s.replace("0517", "0532"), "datum"),
        (lambda s: s[:4] + "13" + s[6:], "datum"),
        (lambda s: s + "1", "formen"),
        (lambda s: "abc", "formen"),
        (lambda s: "2099" + s[4:], "framtiden"),
    ],
)
def test_it_rejects_bad_numbers_without_repeating_them(make, reason) -> None:  # type: ignore[no-untyped-def]
    bad = make(synthetic(dt.date(1990, 5, 17), 123))
    with pytest.raises(InvalidIdentityNumber) as info:
        parse_identity_number(bad, today=TODAY)
    assert reason in str(info.value)
    assert bad.replace("-", "")[-6:] not in str(info.value)


def test_the_number_never_shows_in_its_repr() -> None:
    text = synthetic(dt.date(1990, 5, 17), 123)
    number = parse_identity_number(text, today=TODAY)
    assert text.replace("-", "") not in repr(number)
    assert text.replace("-", "") not in str(number)


@given(st.text(alphabet="0123456789", min_size=1, max_size=15))
def test_a_check_digit_always_makes_a_luhn_valid_number(digits: str) -> None:
    assert luhn_ok(digits + luhn_check_digit(digits))


@given(st.dates(min_value=dt.date(1901, 1, 1), max_value=TODAY), st.integers(0, 999), st.booleans())
def test_generated_numbers_are_valid_in_form(born: dt.date, serial: int, coordination: bool) -> None:
    parsed = parse_identity_number(synthetic(born, serial, coordination), today=TODAY)
    assert parsed.birth_date == born
    assert parsed.sex == ("male" if serial % 2 else "female")
