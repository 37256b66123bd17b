"""``utfall api_token USER``: make an API token for a user (printed once), or revoke them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from utfall.core.services import create_api_token, revoke_api_tokens
from utfall.organisations.models import User


class Command(BaseCommand):
    help = "Skapar en API-nyckel för en användare (visas en gång) eller återkallar användarens nycklar."
    #: The system checks import the URL map and with it the statistics (scipy, pandas): many
    #: seconds for a command that writes one row (issue 17 point 18). The server runs them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--name", default="API", help="vad nyckeln används till (t.ex. verksamhetssystemet)"
        )
        parser.add_argument("--revoke", action="store_true", help="återkalla användarens alla nycklar")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(f"användaren '{options['username']}' finns inte") from None
        if options["revoke"]:
            self.stdout.write(f"Återkallade {revoke_api_tokens(user=user)} nycklar.")
            return
        try:
            token = create_api_token(user=user, name=options["name"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(token)
