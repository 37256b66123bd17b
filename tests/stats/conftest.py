from __future__ import annotations

from pathlib import Path

import pytest

#: External reference vectors, kept in the repository (their sources: reference/README.md).
REFERENCE = Path(__file__).resolve().parent / "reference"


@pytest.fixture(scope="session")
def reference() -> Path:
    """Directory of external reference vectors (see its README.md for every source)."""
    return REFERENCE


@pytest.fixture(autouse=True)
def _pseudonym_key() -> None:
    """Override the project-wide autouse fixture: the stats tests never touch Django.

    ``tests/conftest.py`` sets a pseudonym key through pytest-django's ``settings``; the
    stats suite runs with ``-p no:django`` and must not need it.
    """
