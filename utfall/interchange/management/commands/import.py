"""utfall import FILE…: interchange v1 files into the database (see docs/interchange.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from utfall.core.commands import (
    ProgressBar,
    add_municipality_argument,
    get_municipality,
)
from utfall.interchange.importer import import_files
from utfall.interchange.schema import KIND_NAMES_SV, KINDS
from utfall.organisations.models import User


class Command(BaseCommand):
    help = "Importera filer i utbytesformat v1 (providers, contracts, interventions, followups)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, help="CSV- eller XLSX-filer")
        add_municipality_argument(parser)
        parser.add_argument(
            "--partial",
            action="store_true",
            help="spara de godkända raderna och skriv de avvisade till *.rejected.csv",
        )
        parser.add_argument(
            "--update",
            action="store_true",
            help="ersätt lagrade rader med ändrat innehåll (gamla versionen sparas)",
        )
        parser.add_argument("--rejected-dir", type=Path, help="katalog för avvisade rader (--partial)")
        parser.add_argument("--user", help="användarnamn som importen registreras på")

    def handle(self, *args: Any, **options: Any) -> None:
        municipality = get_municipality(options)
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"okänd användare '{options['user']}'")
        report = import_files(
            options["files"],
            municipality=municipality,
            partial=options["partial"],
            update=options["update"],
            user=user,
            actor="import (kommandorad)",
            rejected_dir=options["rejected_dir"],
            progress=ProgressBar(),
        )
        for issue in report.issues:
            self.stderr.write(str(issue))
        if report.hidden_issues:
            self.stderr.write(
                f"… och {report.hidden_issues} fel till, som inte visas (högst {len(report.issues)} visas, "
                "UTFALL_IMPORT_MAX_ERRORS); med --partial står alla i filerna med avvisade rader."
            )
        for kind in KINDS:
            seen = (
                report.created[kind] + report.updated[kind] + report.unchanged[kind] + report.rejected[kind]
            )
            if seen:
                self.stdout.write(
                    f"{KIND_NAMES_SV[kind]}: {report.created[kind]} nya, {report.updated[kind]} ändrade, "
                    f"{report.unchanged[kind]} oförändrade, {report.rejected[kind]} avvisade"
                )
        if report.new_units:
            self.stdout.write("Nya enheter skapade: " + ", ".join(report.new_units))
        for path in report.rejected_files:
            self.stdout.write(f"Avvisade rader med orsak: {path}")
        if not report.stored:
            raise CommandError(
                f"{report.error_count} fel; ingenting sparades. Rätta filerna, eller använd --partial "
                "för att spara de godkända raderna."
            )
        if report.issues:
            raise CommandError(f"{report.error_count} fel; de godkända raderna sparades.", returncode=3)
        self.stdout.write("Importen är klar.")
