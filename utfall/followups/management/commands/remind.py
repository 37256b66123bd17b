"""``utfall remind``: e-mail caseworkers who have overdue follow-ups (run daily by cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from utfall.followups.reminders import send_reminders


class Command(BaseCommand):
    help = "Skickar e-post till socialsekreterare med försenade uppföljningar (utan klientuppgifter)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="adressen till utfall i länken"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sent = send_reminders(today=timezone.localdate(), base_url=options["base_url"])
        self.stdout.write(f"Skickade {sent} påminnelser.")
