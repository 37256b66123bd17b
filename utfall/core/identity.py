"""Swedish personal identity numbers (personnummer) and coordination numbers (samordningsnummer).

Parsing only: the number is validated, sex and birth year are read off it, and it is
normalised to twelve digits so that it can be turned into a pseudonym. Nothing here
stores or logs the number.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_PATTERN = re.compile(r"^(\d{2})?(\d{2})(\d{2})(\d{2})([-+]?)(\d{3})(\d)$")


class InvalidIdentityNumber(ValueError):
    """The text is not a valid personnummer or samordningsnummer."""


@dataclass(frozen=True, slots=True)
class IdentityNumber:
    """A validated identity number. ``normalised`` is YYYYMMDDNNNC (12 digits)."""

    normalised: str
    birth_date: dt.date
    is_coordination_number: bool

    @property
    def birth_year(self) -> int:
        return self.birth_date.year

    @property
    def sex(self) -> str:
        # The ninth digit of the ten-digit form: odd for men, even for women.
        return "male" if int(self.normalised[10]) % 2 else "female"

    def __repr__(self) -> str:  # never show the number itself
        return "IdentityNumber(<hidden>)"

    __str__ = __repr__


def luhn_ok(digits: str) -> bool:
    """Luhn check over a string of digits (the last digit is the check digit)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_check_digit(digits: str) -> str:
    """The check digit that makes ``digits + check`` pass the Luhn test."""
    for c in "0123456789":
        if luhn_ok(digits + c):
            return c
    raise AssertionError("unreachable")


def parse_identity_number(text: str, *, today: dt.date | None = None) -> IdentityNumber:
    """Validate a personnummer or samordningsnummer in 10 or 12 digits, with or without ``-``/``+``.

    With ten digits the century is the most recent one that does not put the birth date in
    the future; ``+`` marks a person aged 100 or more. Raises InvalidIdentityNumber with a
    reason that does not repeat the number.
    """
    today = today or dt.date.today()
    m = _PATTERN.match(text.strip())
    if not m:
        raise InvalidIdentityNumber("har inte formen ÅÅÅÅMMDD-NNNN eller ÅÅMMDD-NNNN")
    century, yy, mm, dd, sep, serial, check = m.groups()
    day = int(dd)
    coordination = day > 60
    if coordination:
        day -= 60
    if century is not None:
        if sep == "+":
            raise InvalidIdentityNumber("'+' används bara i den tiosiffriga formen")
        year = int(century + yy)
    else:
        year = (today.year // 100) * 100 + int(yy)
        if (year, int(mm), day) > (today.year, today.month, today.day):
            year -= 100
        if sep == "+":
            year -= 100
    try:
        born = dt.date(year, int(mm), day)
    except ValueError:
        raise InvalidIdentityNumber("datumdelen är inte ett giltigt datum") from None
    if born > today:
        raise InvalidIdentityNumber("födelsedatumet ligger i framtiden")
    ten = f"{yy}{mm}{dd}{serial}{check}"
    if not luhn_ok(ten):
        raise InvalidIdentityNumber("kontrollsiffran stämmer inte")
    return IdentityNumber(
        normalised=f"{year:04d}{mm}{dd}{serial}{check}",
        birth_date=born,
        is_coordination_number=coordination,
    )


def format_identity_number(born: dt.date, serial: int, *, coordination: bool = False) -> str:
    """A valid-in-form twelve-digit number with a dash, for synthetic test and demo data."""
    day = born.day + (60 if coordination else 0)
    body = f"{born:%y%m}{day:02d}{serial:03d}"
    return f"{born.year:04d}{born:%m}{day:02d}-{serial:03d}{luhn_check_digit(body)}"


# Ten or twelve digits, with or without a dash, plus or space before the last four, not part
# of a longer run of digits.
_EMBEDDED = re.compile(r"(?<!\d)(\d{6}|\d{8})[-+ ]?(\d{4})(?!\d)")
IDENTITY_NUMBER_REFUSED = (
    "får inte innehålla ett person- eller samordningsnummer; utfall lagrar aldrig sådana nummer"
)


def contains_identity_number(text: str, *, today: dt.date | None = None) -> bool:
    """Whether anything in ``text`` parses as a personnummer or samordningsnummer (with or
    without century, dash or plus). ID columns and free text are refused when it does
    (DESIGN.md invariant 1); the caller's message never repeats the text."""
    if len(text) < 10:  # the shortest number has ten digits (an import screens every id)
        return False
    for match in _EMBEDDED.finditer(text):
        date_part, last = match.groups()
        for candidate in (f"{date_part}{last}", f"{date_part}-{last}", f"{date_part}+{last}"):
            try:
                parse_identity_number(candidate, today=today)
            except InvalidIdentityNumber:
                continue
            return True
    return False
