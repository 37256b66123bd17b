"""utfall rebuild-aggregates: rebuild the maintained count tables from the raw rows, or check them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from utfall.aggregates import coverage
from utfall.aggregates.rebuild import check, municipalities, rebuild


class Command(BaseCommand):
    help = (
        "Bygger om de underhållna summeringarna (antal per månad och dimension, utfall per insats) "
        "från de enskilda raderna, eller jämför dem med --check utan att skriva."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--municipality", help="kommunkod (standard: alla kommuner)")
        parser.add_argument(
            "--check",
            action="store_true",
            help="jämför utan att skriva; avslutar med fel och skriver skillnaderna om de skiljer sig",
        )
        parser.add_argument(
            "--coverage-year",
            type=int,
            help="räkna bara uppföljningsgraden för perioderna till och med detta år (t.ex. nästa år, i "
            "december), så att årets första sida inte behöver göra det; inget annat ändras",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["coverage_year"]:
            coverage.extend(options["coverage_year"])
            self.stdout.write(
                f"uppföljningsgraden räknas för perioderna till och med {options['coverage_year']}"
            )
            return
        found = municipalities(options["municipality"])
        if options["municipality"] and not found:
            raise CommandError(f"okänd kommun '{options['municipality']}'")
        differing = 0
        for municipality in found:
            if options["check"]:
                result = check(municipality)
                if result.ok:
                    self.stdout.write(f"{municipality.code}: summeringarna stämmer")
                else:
                    differing += 1
                    self.stdout.write(f"{municipality.code}: summeringarna skiljer sig från en ombyggnad")
                    for line in result.lines():
                        self.stdout.write(f"  {line}")
            else:
                rebuild(municipality)
                self.stdout.write(f"{municipality.code}: summeringarna ombyggda")
        if differing:
            raise CommandError(f"summeringarna skiljer sig i {differing} kommun(er)")
