"""Maintained count tables: what the comparisons read instead of the raw rows.

Each row is the number of raw rows (answers, follow-ups) that share one value of every
dimension the pages use, in one calendar month. The dimensions are references without
database constraints (``db_constraint=False``): a count row is derived data and must never
stop a write or a deletion of the rows it counts; ``utfall rebuild-aggregates --check`` proves
they agree. Kept exact by every writer in its own transaction (docs/aggregates.md).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from utfall.registry.models import Intervention

#: No index of its own per dimension (each one a write per count row, issue 13.2): every read
#: and every writer's lookup goes through the tables' composite indexes, which begin with the
#: municipality.
_DIMENSION: dict[str, Any] = {
    "on_delete": models.DO_NOTHING,
    "db_constraint": False,
    "db_index": False,
    "related_name": "+",
}


class CountDimensions(models.Model):
    """What answers and follow-ups are counted by (the month of the row's date)."""

    #: The tenant key (every tenant-owned table carries it; Citus shards on it).
    municipality = models.ForeignKey("organisations.Municipality", **_DIMENSION)
    month = models.DateField()
    provider = models.ForeignKey("registry.Provider", **_DIMENSION)
    service = models.ForeignKey("registry.Service", **_DIMENSION)
    unit = models.ForeignKey("organisations.Unit", **_DIMENSION)
    contract = models.ForeignKey("registry.Contract", null=True, **_DIMENSION)
    client_sex = models.CharField(max_length=8)
    age_group = models.CharField(max_length=8)
    n = models.IntegerField()

    class Meta:
        abstract = True


class AnswerCount(CountDimensions):
    """Answers per question and option (the question indicators)."""

    question_id = models.IntegerField()
    option_id = models.IntegerField()

    class Meta:
        # The period's prefix is what the comparisons read; the rest of the key lets a writer
        # find a key's row by an index probe (aggregates.tally, issue 13.2), nullable last.
        indexes = [models.Index(fields=["municipality", "question_id", "month", "provider", "service",
                                        "unit", "client_sex", "age_group", "option_id", "contract"],
                                name="answercount_period")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} question {self.question_id} option {self.option_id}: {self.n}"


class FollowUpCount(CountDimensions):
    """Follow-ups per status, assessment and caseworker (assessment indicators, coverage of
    follow-ups by status)."""

    status = models.CharField(max_length=12)
    assessment = models.CharField(max_length=10)
    created_by_id = models.IntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["municipality", "month", "provider", "service", "unit", "client_sex",
                                        "age_group", "status", "assessment", "contract", "created_by_id"],
                                name="followupcount_period")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.status}: {self.n}"


class ProviderCount(models.Model):
    """Rollups by provider alone (the comparison of all providers, trends, the provider page):
    the sums of the full tables' rows over every other dimension, kept by the same deltas.
    Far fewer rows than the full tables, which count by ten dimensions."""

    municipality = models.ForeignKey("organisations.Municipality", **_DIMENSION)
    month = models.DateField()
    provider = models.ForeignKey("registry.Provider", **_DIMENSION)
    n = models.IntegerField()

    class Meta:
        abstract = True


class AnswerByProvider(ProviderCount):
    question_id = models.IntegerField()
    option_id = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["municipality", "question_id", "month", "provider", "option_id"],
                                name="answerbyprovider_period")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} question {self.question_id} option {self.option_id}: {self.n}"


class FollowUpByProvider(ProviderCount):
    status = models.CharField(max_length=12)
    assessment = models.CharField(max_length=10)

    class Meta:
        indexes = [
            models.Index(
                fields=["municipality", "month", "provider", "status", "assessment"],
                name="followupbyprovider_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.status}: {self.n}"


class InterventionOutcome(models.Model):
    """What happened after an intervention ended, stored once when its client's interventions
    change (not per query): the first intervention of the client that started on or after the
    end (its service and how many days after the end), and the days until the client was back
    in an intervention of the same target group (started after the end). Null when there is
    none or the intervention has not ended. The indicators apply their windows to these."""

    intervention = models.OneToOneField(
        Intervention, on_delete=models.CASCADE, primary_key=True, related_name="outcome"
    )
    municipality = models.ForeignKey("organisations.Municipality", **{**_DIMENSION, "db_index": True})
    next_service = models.ForeignKey("registry.Service", null=True, **{**_DIMENSION, "db_index": True})
    next_after_days = models.IntegerField(null=True)
    back_after_days = models.IntegerField(null=True)

    def __str__(self) -> str:
        return f"outcome of intervention {self.intervention_id}"


class CoveragePeriod(models.Model):
    """A calendar quarter, half-year or year whose coverage is maintained
    (:class:`CoverageCount`): every one of them from the first year to the last one stored
    here (docs/aggregates.md, "Coverage"). A coverage count for any other period is read from
    the raw rows."""

    grain = models.CharField(max_length=8)  # quarter, half, year
    start = models.DateField()
    end = models.DateField()
    #: The year whose age groups the period's interventions are counted in (that of its end).
    year = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["grain", "start"], name="coverageperiod_unique")]
        indexes = [models.Index(fields=["end", "start"], name="coverageperiod_end")]

    def __str__(self) -> str:
        return f"{self.grain} {self.start}–{self.end}"


class CoverageCount(models.Model):
    """Interventions ongoing at some time in a maintained period (:class:`CoveragePeriod`), by
    the dimensions the pages group and filter coverage by, and whether each had at least one
    follow-up dated in the period (``followed``): the coverage indicator read without an
    EXISTS per intervention (issue 13, point 1)."""

    municipality = models.ForeignKey("organisations.Municipality", **_DIMENSION)
    period = models.ForeignKey(CoveragePeriod, **_DIMENSION)
    provider = models.ForeignKey("registry.Provider", **_DIMENSION)
    service = models.ForeignKey("registry.Service", **_DIMENSION)
    unit = models.ForeignKey("organisations.Unit", **_DIMENSION)
    contract = models.ForeignKey("registry.Contract", null=True, **_DIMENSION)
    client_sex = models.CharField(max_length=8)
    age_group = models.CharField(max_length=8)
    followed = models.BooleanField()
    n = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["municipality", "period", "provider", "service", "unit", "client_sex",
                                        "age_group", "followed", "contract"],
                                name="coveragecount_period")]  # fmt: skip

    def __str__(self) -> str:
        return f"period {self.period_id} followed={self.followed}: {self.n}"


class CoverageRollup(models.Model):
    """Rollups of :class:`CoverageCount` by one dimension (the comparison of all providers, the
    coverage page and the report by unit): its sums over every other dimension, kept by the
    same deltas. A few hundred rows a period where the full table has tens of thousands."""

    municipality = models.ForeignKey("organisations.Municipality", **_DIMENSION)
    period = models.ForeignKey(CoveragePeriod, **_DIMENSION)
    followed = models.BooleanField()
    n = models.IntegerField()

    class Meta:
        abstract = True


class CoverageByProvider(CoverageRollup):
    provider = models.ForeignKey("registry.Provider", **_DIMENSION)

    class Meta:
        indexes = [models.Index(fields=["municipality", "period", "provider", "followed"],
                                name="coveragebyprovider_period")]  # fmt: skip

    def __str__(self) -> str:
        return f"period {self.period_id} provider {self.provider_id} followed={self.followed}: {self.n}"


class CoverageByUnit(CoverageRollup):
    unit = models.ForeignKey("organisations.Unit", **_DIMENSION)

    class Meta:
        indexes = [models.Index(fields=["municipality", "period", "unit", "followed"],
                                name="coveragebyunit_period")]  # fmt: skip

    def __str__(self) -> str:
        return f"period {self.period_id} unit {self.unit_id} followed={self.followed}: {self.n}"
