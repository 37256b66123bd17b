"""utfall webhooks: deliver the due webhook messages once (run every minute, from cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from utfall.core.commands import add_municipality_argument, get_municipality
from utfall.oversight.models import WebhookEndpoint
from utfall.oversight.webhooks import deliver_due, new_secret


class Command(BaseCommand):
    help = "Levererar väntande webhook-meddelanden (signerade, med nya försök och logg)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=500, help="högst så många meddelanden per körning")
        parser.add_argument(
            "--add-endpoint", metavar="URL", help="lägg till en mottagare och skriv ut dess hemlighet"
        )
        parser.add_argument(
            "--name", default="Kvalitetsledningssystemet", help="mottagarens namn (med --add-endpoint)"
        )
        add_municipality_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["add_endpoint"]:
            secret = new_secret()
            WebhookEndpoint.objects.create(municipality=get_municipality(options), name=options["name"],
                                           url=options["add_endpoint"], secret=secret)  # fmt: skip
            self.stdout.write(f"Mottagaren är tillagd. Hemligheten visas bara nu: {secret}")
            return
        counts = deliver_due(limit=options["limit"])
        self.stdout.write(
            f"levererade {counts['delivered']}, försöks igen senare {counts['retry']}, gav upp {counts['failed']}"
        )
