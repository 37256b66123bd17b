"""utfall export DIR: the stored data as interchange v1 files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from utfall.core.commands import (
    add_municipality_argument,
    get_municipality,
)
from utfall.interchange.exporter import export_all
from utfall.interchange.schema import KIND_NAMES_SV


class Command(BaseCommand):
    help = "Exportera lagrade data som filer i utbytesformat v1 (personnummer ersätts av pseudonymer)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        add_municipality_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        counts = export_all(get_municipality(options), options["directory"])
        for kind, n in counts.items():
            self.stdout.write(f"{KIND_NAMES_SV[kind]}: {n} rader -> {options['directory'] / (kind + '.csv')}")
