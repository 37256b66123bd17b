"""Ids that a person can read aloud on the phone (issue 17 point 5).

Crockford's base-32 alphabet (no I, L, O or U, which are mistaken for 1, 0 and V), in groups of
four: ``U-7KQ4-M2XD-9PRT``. Twelve characters carry 60 random bits, so a municipality with a
million records has a chance of about one in two million of a clash, and the unique
constraint refuses that one.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def readable_id(prefix: str, *, groups: int = 3) -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(4 * groups))
    return "-".join([prefix, *(chars[i : i + 4] for i in range(0, len(chars), 4))])
