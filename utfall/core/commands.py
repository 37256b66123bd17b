"""Pieces shared by the management commands of several apps: the --municipality argument and
a progress bar."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser

from utfall.organisations.models import Municipality
from utfall.organisations.setup import DEFAULT_MUNICIPALITY_CODE


def add_municipality_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--municipality",
        default=DEFAULT_MUNICIPALITY_CODE,
        help=f"municipality code (default: {DEFAULT_MUNICIPALITY_CODE})",
    )


def get_municipality(options: dict[str, Any]) -> Municipality:
    code = options["municipality"]
    try:
        return Municipality.objects.get(code=code)
    except Municipality.DoesNotExist:
        known = ", ".join(Municipality.objects.values_list("code", flat=True))
        raise CommandError(f"okänd kommun '{code}' (kända: {known})") from None


class ProgressBar:
    """A one-line progress bar on stderr (only when stderr is a terminal, or forced)."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.last = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width if total == 0 else int(width * done / total)
        line = f"\r{stage:<28} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        if line != self.last:
            sys.stderr.write(line + ("\n" if done >= total else ""))
            sys.stderr.flush()
            self.last = line
