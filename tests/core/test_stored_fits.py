"""Fits kept between processes (utfall.core.fits, docs/decisions.md 2026-12-06 "Stored fits"):
a comparison in a fresh process uses the fit an earlier one stored for the same counts and
gives the same output; never another municipality's, never one of other code, never a damaged
one; old rows go."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from tests.conftest import TODAY
from utfall.comparisons.cache import bump
from utfall.comparisons.services import compare
from utfall.core.fits import KEPT_DAYS
from utfall.core.models import StoredFit
from utfall.demo.generator import as_tables, generate
from utfall.interchange.importer import Importer
from utfall.stats import assessment, overdispersion, standardisation
from utfall.stats.overdispersion import clear_fit_cache, store

pytestmark = pytest.mark.django_db


def load(municipality: Any) -> Any:
    report = Importer(municipality=municipality, today=TODAY).run(
        tables=as_tables(generate(size=0.1, seed=8, today=TODAY))
    )  # type: ignore[arg-type]
    assert report.ok
    return municipality


def run(municipality: Any, *, adjust: bool = False) -> str:
    result = compare(municipality=municipality, indicator="satisfied", by="provider", adjust=adjust,
                     date_from=dt.date(2024, 1, 1), date_to=dt.date(2025, 12, 31)).as_json()  # fmt: skip
    return json.dumps(result, sort_keys=True, default=str)


def new_process() -> None:
    """What a new server process has: no fit in memory and no count cached."""
    clear_fit_cache()
    bump()


def no_fitting(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("a fit was computed")

    monkeypatch.setattr(overdispersion, "_fit", refuse)


def test_a_new_process_uses_the_stored_fits_and_shows_the_same_comparison(municipality, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    new_process()
    plain, adjusted = run(municipality), run(municipality, adjust=True)
    stored = list(StoredFit.objects.filter(municipality=municipality))
    assert len(stored) >= 2 and all(row.stored == timezone.localdate() for row in stored)
    fits = [row.text for row in stored if store.decode(row.text) is not None]
    assert len(fits) >= 2 and '"truncated-ml"' in " ".join(fits)
    # The rest are the other results kept with the fits (store.kept_result): the case-mix model's
    # p̂ by pattern and the reliability, one of the plain comparison and one of the O/E.
    others = sorted(sorted(json.loads(row.text)) for row in stored if store.decode(row.text) is None)
    reliability = sorted(["value", "lower", "upper", "tau_lower", "tau_upper"])
    assert others == sorted([["p_by_pattern"], reliability, reliability])
    new_process()
    no_fitting(monkeypatch)
    monkeypatch.setattr(standardisation.sm, "GLM", None)  # nor the case-mix model
    monkeypatch.setattr(assessment, "rankability", None)  # nor the reliability's profile likelihood
    assert run(municipality) == plain
    assert run(municipality, adjust=True) == adjusted


def test_another_municipalitys_fits_are_never_used(municipality, other_municipality, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    load(other_municipality)  # the same generated data: the same counts, the same keys
    new_process()
    first = run(municipality)
    new_process()
    with monkeypatch.context() as patched:
        no_fitting(patched)
        with pytest.raises(AssertionError, match="a fit was computed"):
            run(other_municipality)
    new_process()
    assert run(other_municipality) == first.replace(municipality.code, other_municipality.code)
    mine = set(StoredFit.objects.filter(municipality=municipality).values_list("key", flat=True))
    theirs = set(StoredFit.objects.filter(municipality=other_municipality).values_list("key", flat=True))
    assert mine and mine == theirs


def test_a_fit_stored_by_other_code_is_not_used(municipality, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    new_process()
    run(municipality)
    new_process()
    monkeypatch.setattr(store, "_code_version", lambda: "another version of the statistics")
    no_fitting(monkeypatch)
    with pytest.raises(AssertionError, match="a fit was computed"):
        run(municipality)


def test_a_damaged_row_is_computed_again_and_repaired(municipality) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    new_process()
    before = run(municipality)
    damaged = StoredFit.objects.filter(municipality=municipality, text__contains='"tau2"').first()
    assert damaged is not None
    right = damaged.text
    StoredFit.objects.filter(pk=damaged.pk).update(text=right.replace('"tau2"', '"tau3"'))
    new_process()
    assert run(municipality) == before
    assert StoredFit.objects.get(pk=damaged.pk).text == right


def test_rows_older_than_the_kept_days_go_at_the_municipalitys_next_save(
    municipality, other_municipality
) -> None:  # type: ignore[no-untyped-def]
    load(municipality)
    today = timezone.localdate()
    StoredFit.objects.create(
        municipality=other_municipality,
        key="2" * 64,
        text="{}",
        stored=today - dt.timedelta(days=KEPT_DAYS + 1),
    )
    StoredFit.objects.create(
        municipality=municipality, key="0" * 64, text="{}", stored=today - dt.timedelta(days=KEPT_DAYS + 1)
    )
    StoredFit.objects.create(
        municipality=municipality, key="1" * 64, text="{}", stored=today - dt.timedelta(days=KEPT_DAYS)
    )
    new_process()
    run(municipality)
    keys = set(StoredFit.objects.values_list("key", flat=True))
    assert "0" * 64 not in keys and "1" * 64 in keys and len(keys) >= 3
    assert "2" * 64 in keys  # another municipality's old row waits for its own save


def test_outside_a_municipalitys_block_nothing_is_stored(municipality) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    new_process()
    overdispersion.fit_overdispersion(np.array([3.0, 5.0, 9.0, 4.0]), np.array([10.0, 12.0, 20.0, 9.0]))
    assert not StoredFit.objects.exists()


def test_a_save_waits_only_briefly_for_sqlites_write_lock_and_leaves_the_connection_as_it_was(
    municipality,
) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from utfall.core import fits

    if connection.vendor != "sqlite":  # PostgreSQL's writers lock rows, not the database: nothing to change
        with CaptureQueriesContext(connection) as queries, fits._briefly_waiting():
            pass
        assert len(queries) == 0
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        before = cursor.fetchone()[0]
        with fits._briefly_waiting():
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] == fits.SQLITE_WAIT_MS
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == before > fits.SQLITE_WAIT_MS
