"""utfall report annual|interim --period 2025 --format pdf|html|xlsx|docx --out FILE

Builds the report exactly as the page's button does (reports.building, reports.rendering)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from utfall.core.commands import add_municipality_argument, get_municipality
from utfall.organisations.models import Unit
from utfall.reports import opendata
from utfall.reports.building import FORMATS, build_report
from utfall.reports.rendering import render


def parse_period(value: str) -> tuple[dt.date, dt.date]:
    """``2025`` (the calendar year) or ``2025-01-01:2025-08-31`` (an interim period)."""
    try:
        if ":" in value:
            start, end = (dt.date.fromisoformat(v) for v in value.split(":", 1))
        else:
            year = int(value)
            start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    except ValueError:
        raise CommandError(
            f"--period ska vara ett år (2025) eller två datum (2025-01-01:2025-08-31), inte '{value}'"
        ) from None
    if start > end:
        raise CommandError("--period: periodens slut ligger före dess början")
    return start, end


class Command(BaseCommand):
    help = "Bygg års- eller delårsrapporten (HTML, PDF, XLSX, DOCX) eller öppna data; läs in andra kommuners."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "kind", choices=["annual", "interim", "open-data", "reference"],
            help="annual = årsrapport, interim = delårsrapport, open-data = öppna data i Koladas form "
                 "(--format csv|json), reference = läs in andra kommuners öppna data (--file)",
        )  # fmt: skip
        parser.add_argument("--period", default="", help="2025, eller 2025-01-01:2025-08-31")
        parser.add_argument("--format", dest="fmt", choices=[*FORMATS, "csv", "json"], default="")
        parser.add_argument("--out", default="", help="fil att skriva")
        parser.add_argument("--file", default="", help="reference: filen att läsa in")
        parser.add_argument("--unit", default="", help="enhetens kod (en stadsdel); utan: hela kommunen")
        add_municipality_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        municipality = get_municipality(options)
        if options["kind"] == "reference":
            self.reference(municipality, options["file"])
            return
        if not options["period"] or not options["out"]:
            raise CommandError("--period och --out behövs")
        start, end = parse_period(options["period"])
        if options["kind"] == "open-data":
            fmt = options["fmt"] or "csv"
            if fmt not in ("csv", "json"):
                raise CommandError("öppna data skrivs som --format csv eller json")
            rows = opendata.open_rows(municipality, start.year)
            self.write(
                Path(options["out"]),
                (opendata.as_csv(rows) if fmt == "csv" else opendata.as_json(rows)).encode(),
            )
            self.stdout.write(f"{len(rows)} värden för {start.year} skrivna till {options['out']}")
            return
        if options["fmt"] in ("csv", "json"):
            raise CommandError("en rapport skrivs som --format pdf, html, xlsx eller docx")
        options["fmt"] = options["fmt"] or "pdf"
        unit = None
        if options["unit"]:
            unit = Unit.objects.filter(municipality=municipality, code=options["unit"]).first()
            if unit is None:
                raise CommandError(f"--unit: ingen enhet med koden '{options['unit']}' i {municipality.name}")
        began = time.perf_counter()
        content = build_report(municipality, date_from=start, date_to=end, unit=unit, kind=options["kind"])
        data = render(content, options["fmt"])
        out = Path(options["out"])
        self.write(out, data)
        seconds = time.perf_counter() - began
        self.stdout.write(f"{content['title']} ({content['scope']}) skriven till {out}: "
                          f"{len(data)} byte, {seconds:.1f} s")  # fmt: skip

    def write(self, out: Path, data: bytes) -> None:
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise CommandError(f"--out: kan inte skriva {out}: {exc.strerror}") from None

    def reference(self, municipality: Any, path: str) -> None:
        if not path:
            raise CommandError("reference: ange filen med --file")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"--file: kan inte läsa {path}: {exc}") from None
        try:
            result = opendata.import_reference(municipality, text, label=Path(path).name)
        except opendata.BadReferenceFile as exc:
            raise CommandError(f"{path} lästes inte in, inget ändrades: {exc}") from None
        self.stdout.write(
            f"{result.rows} värden från {', '.join(result.municipalities) or 'inga kommuner'} inlästa."
        )
