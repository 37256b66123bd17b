"""utfall dispose: anonymise individual-level data past the retention period (gallring)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from utfall.followups.disposal import dispose
from utfall.organisations.models import Municipality


class Command(BaseCommand):
    help = (
        "Gallra: anonymisera insatser som avslutades för mer än UTFALL_RETENTION_YEARS år sedan, "
        "och deras uppföljningar, utan att ändra några resultat. Kör t.ex. varje natt."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--municipality", help="bara denna kommun (kod)")
        parser.add_argument("--dry-run", action="store_true", help="räkna, men ändra ingenting")

    def handle(self, *args: Any, **options: Any) -> None:
        municipality = None
        if options["municipality"]:
            municipality = Municipality.objects.filter(code=options["municipality"]).first()
            if municipality is None:
                raise CommandError(f"kommunen '{options['municipality']}' finns inte")
        report = dispose(
            today=timezone.localdate(),
            years=settings.UTFALL_RETENTION_YEARS,
            municipality=municipality,
            dry_run=options["dry_run"],
        )
        prefix = "Provkörning, inget ändrat. " if options["dry_run"] else ""
        self.stdout.write(prefix + str(report))
