"""Disposal (gallring): individual data past retention becomes anonymous; results stay."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import TEST_KEY, TODAY
from utfall.comparisons.services import compare
from utfall.core.models import AuditEntry, ChangeRecord
from utfall.demo.generator import generate
from utfall.followups.disposal import dispose
from utfall.followups.models import FollowUp
from utfall.interchange.importer import import_files
from utfall.registry.models import Client, Intervention

pytestmark = pytest.mark.django_db
LATER = TODAY + dt.timedelta(days=3 * 365)  # five years back from here reaches into the data
INDICATORS = ("satisfied", "assessment_approved", "step_down", "plan_goals_reached", "followup_coverage")


def results(municipality) -> str:  # type: ignore[no-untyped-def]
    out = {}
    for indicator in INDICATORS:
        for by in ("provider", "sex", "age_group"):
            result = compare(municipality=municipality, indicator=indicator, date_from=TODAY - dt.timedelta(days=1200),
                             date_to=TODAY, by=by, filters={}, adjust=False)  # fmt: skip
            out[f"{indicator}/{by}"] = result.as_json()
    return json.dumps(out, sort_keys=True, default=str)


def test_it_anonymises_what_is_past_retention_and_every_result_stays(municipality, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = generate(size=0.03, seed=7, today=TODAY)
    assert import_files(data.write_csv(tmp_path / "in"), municipality=municipality, today=TODAY).ok
    before = results(municipality)
    old = set(Intervention.objects.filter(ended_on__lt=LATER.replace(year=LATER.year - 5))
              .values_list("intervention_id", flat=True))  # fmt: skip
    old_followups = set(
        FollowUp.objects.filter(intervention__intervention_id__in=old).values_list("followup_id", flat=True)
    )
    assert old and old_followups
    pseudonyms = set(Client.objects.values_list("pseudonym", flat=True))

    report = dispose(today=LATER, years=5)

    assert report.interventions == len(old) and report.followups == len(old_followups)
    assert not Intervention.objects.filter(intervention_id__in=old).exists()
    assert not FollowUp.objects.filter(followup_id__in=old_followups).exists()
    assert not ChangeRecord.objects.filter(record_id__in=old | old_followups).exists()
    replaced = pseudonyms - set(Client.objects.values_list("pseudonym", flat=True))
    assert len(replaced) == report.clients > 0
    assert results(municipality) == before  # every count the pages and reports are made of
    entry = AuditEntry.objects.get(action="dispose")
    assert entry.username == "utfall dispose" and str(len(old)) in entry.record_ids[0]

    again = dispose(today=LATER, years=5)
    assert (again.interventions, again.followups, again.clients) == (0, 0, 0)
    assert AuditEntry.objects.filter(action="dispose").count() == 1


def test_a_dry_run_changes_nothing(municipality, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = generate(size=0.02, seed=5, today=TODAY)
    assert import_files(data.write_csv(tmp_path / "in"), municipality=municipality, today=TODAY).ok
    ids = sorted(Intervention.objects.values_list("intervention_id", flat=True))
    report = dispose(today=LATER, years=5, dry_run=True)
    assert report.interventions > 0
    assert sorted(Intervention.objects.values_list("intervention_id", flat=True)) == ids
    assert not AuditEntry.objects.exists()


@pytest.mark.slow
def test_the_command_says_what_it_did(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "UTFALL_PSEUDONYM_KEY": TEST_KEY,
        "DEBUG": "true",
    }
    run = lambda *a: subprocess.run([sys.executable, "-m", "utfall", *a], env=env, capture_output=True,  # noqa: E731
                                    text=True, timeout=300, check=False)  # fmt: skip
    assert run("migrate", "-v0").returncode == 0
    first = run("dispose")
    assert first.returncode == 0, first.stderr
    assert "0 insatser och 0 uppföljningar anonymiserade" in first.stdout
