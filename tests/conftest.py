"""Shared fixtures: a fixed pseudonym key, a municipality, and named personas."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from utfall.core import sqlite as _sqlite

# Django's flush between transactional tests empties the audit table with DELETE on SQLite;
# the guard's own tests (tests/security/test_audit_guard.py) switch this off again.
_sqlite.ALLOW_AUDIT_DELETE = True

TEST_KEY = "test-key-0123456789abcdef0123456789abcdef"  # not a secret: tests only
TODAY = dt.date(2026, 6, 30)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """In CI (``CI=true``) a skipped test is a failure: what CI is to prove must run there
    (the statistics' reference vectors, the browser tests, PostgreSQL)."""
    report = yield
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {reason}"
    return report


@pytest.fixture(autouse=True)
def _pseudonym_key(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    from utfall.core.pseudonyms import reset_key_cache

    settings.UTFALL_PSEUDONYM_KEY = TEST_KEY
    reset_key_cache()
    yield
    reset_key_cache()


@pytest.fixture(autouse=True)
def _site_language() -> Iterator[None]:
    """Every test starts in Swedish, the site's language: a request in English leaves English
    active in the thread (LocaleMiddleware never deactivates), and the next test's code that
    translates outside a request would see it (tests/test_language_isolation.py)."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


def _migrated_coverage_periods() -> None:
    """The coverage periods the migrations maintain (aggregates 0006 and 0010: this year's and
    the ten before, with the runs of two years). A transactional test's flush (the migration
    fills', the browser tests') empties every table, migrations' rows included, and a later test
    in the same worker then found no period maintained and read coverage from the raw rows: the
    same counts by another path, so a test of the maintained path failed by the order the
    workers ran the files in (2026-12-07)."""
    from django.utils import timezone

    from utfall.aggregates import coverage

    if coverage.maintained_years() is None:
        year = timezone.localdate().year
        coverage.extend(year, year - 10)


@pytest.fixture
def municipality(db):  # type: ignore[no-untyped-def]
    from utfall.organisations.models import Municipality

    _migrated_coverage_periods()
    return Municipality.objects.create(code="testkommun", name="Testkommun")


@pytest.fixture
def other_municipality(db):  # type: ignore[no-untyped-def]
    from utfall.organisations.models import Municipality

    return Municipality.objects.create(code="grannkommun", name="Grannkommun")


@pytest.fixture
def write_csv(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a CSV file from lines; returns its path."""

    def write(name: str, *lines: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding=encoding)
        return path

    return write
