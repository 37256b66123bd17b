"""Pages seen as the personas of tests/personas.py."""

from tests.personas import world  # noqa: F401
