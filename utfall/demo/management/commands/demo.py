"""utfall demo: migrate, load a synthetic municipality, create demo users, start the server."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from utfall.core.commands import ProgressBar
from utfall.demo.setup import (
    DEMO_PASSWORD,
    DEMO_USERS,
    demo_municipality,
    ensure_demo_caseworkers,
    ensure_demo_procurement,
    ensure_demo_users,
    has_data,
    load_demo_data,
)


class Command(BaseCommand):
    help = "Starta utfall med syntetiska demodata (endast utvecklings-/demoläge)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", type=float, default=1.0, help="datamängd (1.0 = ~22 500 insatser)")
        parser.add_argument("--no-server", action="store_true", help="ladda data men starta ingen server")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("utfall demo körs bara i utvecklingsläge (DEBUG=true), aldrig i produktion.")
        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        municipality = demo_municipality()
        if has_data(municipality):
            self.stdout.write("Demodata finns redan; inget läses in på nytt.")
        else:
            self.stdout.write("Läser in syntetiska demodata …")
            data, report = load_demo_data(municipality, size=options["size"], progress=ProgressBar(True))
            if not report.stored:
                for issue in report.issues[:20]:
                    self.stderr.write(str(issue))
                raise CommandError("demodata kunde inte läsas in")
            self.stdout.write(
                f"{len(data.providers)} utförare, {len(data.interventions)} insatser, "
                f"{len(data.followups)} uppföljningar inlästa."
            )
        ensure_demo_users(municipality)
        ensure_demo_caseworkers(municipality)
        provider_name = ensure_demo_procurement(municipality)
        self.stdout.write(f"Klart på {time.monotonic() - started:.1f} s.\n")
        self.stdout.write(
            f"Demoanvändare (lösenord '{DEMO_PASSWORD}'): " + ", ".join(u for u, _, _ in DEMO_USERS)
        )
        if provider_name:
            self.stdout.write(f"Utförarkontot 'provider' (samma lösenord) hör till {provider_name}.")
        if options["no_server"]:
            return
        address = f"127.0.0.1:{options['port']}"
        self.stdout.write(f"Öppna http://{address}/ i webbläsaren. Avsluta med Ctrl+C.")
        call_command("runserver", address, use_reloader=False)
