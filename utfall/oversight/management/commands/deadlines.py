"""utfall deadlines: e-mail each case owner their overdue action deadlines (daily, from cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from utfall.oversight.deadlines import send_deadline_mail


class Command(BaseCommand):
    help = "Skickar e-post till ansvariga om försenade åtgärder i fördjupade uppföljningar (utan klientuppgifter)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="adressen i länkarna")

    def handle(self, *args: Any, **options: Any) -> None:
        sent = send_deadline_mail(today=timezone.localdate(), base_url=options["base_url"])
        self.stdout.write(f"{sent} e-postmeddelanden skickade.")
