"""The scale benchmark's clone build (bench/bench_scale.py ``--clone``, issue 13): copies of an
imported data set made in SQL are valid rows (new keys, clients and ids, the answers' copied facts
equal to their follow-up's, providers that give the service, their own contracts) and, once the
maintained counts are copied too (or rebuilt), they equal a rebuild; the stored outcomes are right
as copied."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
from django.db.models import F, Sum

from tests.conftest import TODAY
from utfall.aggregates.models import AnswerCount, InterventionOutcome
from utfall.aggregates.rebuild import check, rebuild
from utfall.demo.generator import as_tables, generate
from utfall.followups.models import FACTS, Answer, FollowUp
from utfall.interchange.importer import Importer
from utfall.organisations.models import Municipality
from utfall.registry.models import Client, Intervention

pytestmark = pytest.mark.django_db

COPIES = 2


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "bench_scale.py"
    spec = importlib.util.spec_from_file_location("bench_scale", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def cloned(municipality: Municipality, other_municipality: Municipality) -> Municipality:
    # Another municipality's rows first and last: the copies' keys must pass them by.
    data = generate(size=0.01, seed=3, today=TODAY)
    assert Importer(municipality=other_municipality, today=TODAY).run(tables=as_tables(data)).ok  # type: ignore[arg-type]
    data = generate(size=0.02, seed=11, today=TODAY)
    assert Importer(municipality=municipality, today=TODAY).run(tables=as_tables(data)).ok  # type: ignore[arg-type]
    assert check(municipality).ok
    _bench().clone(municipality, COPIES)
    return municipality


def test_every_row_is_copied_with_new_keys_clients_and_ids(cloned: Municipality) -> None:
    seed = Intervention.objects.filter(municipality=cloned).exclude(intervention_id__startswith="C")
    for model, field in ((Intervention, "intervention_id"), (FollowUp, "followup_id")):
        ids = list(model.objects.filter(municipality=cloned).values_list(field, flat=True))
        imported = {i for i in ids if not i.startswith("C")}
        for k in range(1, COPIES + 1):
            assert {i[len(f"C{k}") :] for i in ids if i.startswith(f"C{k}")} == imported
    assert (
        Answer.objects.filter(municipality=cloned).count()
        == (COPIES + 1)
        * Answer.objects.filter(
            followup__in=FollowUp.objects.filter(municipality=cloned).exclude(followup_id__startswith="C")
        ).count()
    )
    clients = Client.objects.filter(municipality=cloned)
    assert clients.count() == (COPIES + 1) * seed.values("client").distinct().count()
    assert all(re.fullmatch(r"[0-9a-f]{64}", p) for p in clients.values_list("pseudonym", flat=True))
    # A copy's client is born the same year with the same sex as the one it copies.
    by_id = {
        i.intervention_id: i
        for i in Intervention.objects.filter(municipality=cloned).select_related("client")
    }
    for original in seed.select_related("client"):
        for k in range(1, COPIES + 1):
            copy = by_id[f"C{k}{original.intervention_id}"]
            assert copy.client_id != original.client_id
            assert (copy.client.sex, copy.client.birth_year) == (
                original.client.sex,
                original.client.birth_year,
            )
            assert (copy.service_id, copy.unit_id, copy.started_on, copy.ended_on, copy.end_reason) == (
                original.service_id, original.unit_id, original.started_on, original.ended_on, original.end_reason
            )  # fmt: skip
    # New rows still get keys of their own (the sequences are past the copies).
    assert Client.objects.create(municipality=cloned, pseudonym="0" * 64, sex="female", birth_year=1990).pk


def test_the_copies_go_to_other_providers_that_give_the_service(cloned: Municipality) -> None:
    interventions = Intervention.objects.filter(municipality=cloned).select_related("contract")
    seed = interventions.exclude(intervention_id__startswith="C")
    offered = set(seed.values_list("service_id", "provider_id"))
    per_copy = {
        k: Counter(
            interventions.filter(intervention_id__startswith=f"C{k}I").values_list("provider_id", flat=True)
        )
        for k in range(1, COPIES + 1)
    }
    assert per_copy[1] != Counter(seed.values_list("provider_id", flat=True)) and per_copy[1] != per_copy[2]
    for intervention in interventions.filter(intervention_id__startswith="C"):
        assert (intervention.service_id, intervention.provider_id) in offered
        assert intervention.contract is None or intervention.contract.provider_id == intervention.provider_id
    assert (
        seed.filter(contract__isnull=True).count()
        == interventions.filter(intervention_id__startswith="C1", contract__isnull=True).count()
    )


def test_the_answers_repeat_their_followups_facts(cloned: Municipality) -> None:
    answers = Answer.objects.filter(municipality=cloned)
    assert answers.filter(followup__followup_id__startswith="C2").exists()
    for name, path in FACTS.items():
        assert not answers.exclude(**{name: F(f"followup__{path}")}).exists(), name
    assert not answers.exclude(municipality_id=F("followup__municipality_id")).exists()
    assert (
        not FollowUp.objects.filter(municipality=cloned)
        .exclude(municipality_id=F("intervention__municipality_id"))
        .exists()
    )


def test_the_copied_counts_equal_a_rebuild(cloned: Municipality) -> None:
    _bench().clone_counts(cloned)
    assert (
        AnswerCount.objects.filter(municipality=cloned).aggregate(n=Sum("n"))["n"]
        == Answer.objects.filter(municipality=cloned).count()
    )
    result = check(cloned)
    assert result.ok, result.lines()


def test_copied_outcomes_are_right_and_a_rebuild_makes_the_counts_exact(cloned: Municipality) -> None:
    assert (
        InterventionOutcome.objects.filter(municipality=cloned).count()
        == Intervention.objects.filter(municipality=cloned).count()
    )
    before = check(cloned)
    assert before.differences["outcomes"] == []  # as copied, without a rebuild
    assert not before.ok  # the counts do not know the copies yet
    rebuild(cloned)
    assert check(cloned).ok
