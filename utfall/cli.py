"""The ``utfall`` console script: Django's management commands plus the project's own."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "utfall.settings")
    from django.core.management import execute_from_command_line

    args = sys.argv[1:]
    if args and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")  # utfall rebuild-aggregates = rebuild_aggregates
    execute_from_command_line(["utfall", *args])


if __name__ == "__main__":
    main()
