from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


@pytest.fixture(scope="session")
def reference() -> Path:
    """Directory of external reference vectors, beside the project (see its README.md)."""
    if not (REFERENCE / "README.md").exists():
        pytest.skip(f"reference vectors not found at {REFERENCE} (they live beside the project)")
    return REFERENCE


@pytest.fixture(autouse=True)
def _pseudonym_key() -> None:
    """Override the project-wide autouse fixture: the stats tests never touch Django.

    ``tests/conftest.py`` sets a pseudonym key through pytest-django's ``settings``; the
    stats suite runs with ``-p no:django`` and must not need it.
    """
