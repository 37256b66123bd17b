"""Rebuilding the maintained tables from the raw rows, and checking them against a rebuild."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from utfall.aggregates import counts, coverage, outcome_counts, outcomes, rollup
from utfall.organisations.models import Municipality
from utfall.registry.models import Intervention


@dataclass
class Check:
    """What differs between the maintained tables and a rebuild, per table."""

    differences: dict[str, list[tuple[Any, Any, Any]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(self.differences.values())

    def lines(self, limit: int = 20) -> list[str]:
        out = []
        for table, found in self.differences.items():
            for key, want, have in found[:limit]:
                out.append(f"{table} {key}: rebuild {want}, stored {have}")
            if len(found) > limit:
                out.append(f"{table}: … and {len(found) - limit} more")
        return out


def municipalities(code: str | None = None) -> list[Municipality]:
    qs = Municipality.objects.order_by("code")
    return list(qs.filter(code=code) if code else qs)


def check(municipality: Municipality) -> Check:
    """Compare without writing."""
    # The outcome counts are compared with the stored outcomes, which are compared with the raw rows.
    want = {**counts.expected_tables(municipality.pk), **outcome_counts.expected_tables(municipality.pk)}
    have = {**counts.stored(municipality.pk), **outcome_counts.stored(municipality.pk)}
    want_outcomes = outcomes.computed(Intervention.objects.filter(municipality=municipality))
    have_outcomes = outcomes.stored(municipality.pk)
    return Check(
        {
            **{table: counts.differences(want[table], have.get(table, Counter())) for table in want},
            **coverage.check(municipality.pk),
            "outcomes": sorted(
                (pk, want_outcomes.get(pk), have_outcomes.get(pk))
                for pk in set(want_outcomes) | set(have_outcomes)
                if want_outcomes.get(pk) != have_outcomes.get(pk)
            ),
        }
    )


@transaction.atomic
def rebuild(municipality: Municipality) -> None:
    """Replace the municipality's count rows and outcomes by ones computed from the raw rows."""
    answers, followups = counts.expected(municipality.pk)
    counts.replace(municipality.pk, answers, followups)
    rollup.rebuild_by_client(municipality.pk)
    coverage.replace(municipality.pk)
    values = outcomes.computed(Intervention.objects.filter(municipality=municipality))
    outcomes.store(values)
    outcome_counts.fill(municipality.pk)
