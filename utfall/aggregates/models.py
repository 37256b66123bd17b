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
        # Covering (``n`` last, 2026-12-03): the comparison of all providers reads its year from
        # the index alone, without a table look-up per row (its count 19 → 10 ms CPU at 1M).
        indexes = [models.Index(fields=["municipality", "question_id", "month", "provider", "option_id", "n"],
                                name="answerbyprovider_cover")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} question {self.question_id} option {self.option_id}: {self.n}"


class FollowUpByProvider(ProviderCount):
    status = models.CharField(max_length=12)
    assessment = models.CharField(max_length=10)

    class Meta:
        indexes = [
            models.Index(
                fields=["municipality", "month", "provider", "status", "assessment", "n"],
                name="followupbyprovider_cover",
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.status}: {self.n}"


class ProviderYearCount(models.Model):
    """Rollups by provider and calendar year (2026-12-03): the provider rollups' twelve months
    summed, kept by the same deltas (``counts.ROLLUPS``, the key's ``year`` projected from the
    month). A comparison of whole years (the annual comparison, the report, a provider's year)
    reads one row per provider and option instead of twelve: at a million follow-ups its count
    10 → 1.3 ms of SQL. ``year`` is the year's first day."""

    municipality = models.ForeignKey("organisations.Municipality", **_DIMENSION)
    year = models.DateField()
    provider = models.ForeignKey("registry.Provider", **_DIMENSION)
    n = models.IntegerField()

    class Meta:
        abstract = True


class QuestionByProviderYear(ProviderYearCount):
    """A question's n and events by provider and calendar year (2026-12-07, branch ``qyear``):
    the answers' rollup by provider and year with the option folded away through its flags, as
    :class:`QuestionByProviderUnitYear` folds the unit manager's (``counts.FOLDED``); it replaced
    the rollup by option, ``AnswerByProviderYear`` (aggregates 0014), which nothing read after
    that and aggregates 0029 dropped. ``n``: the answers whose option counts, ``events`` those
    whose option counts and is positive. A comparison of whole years by provider and the provider
    page's questions read one row per provider and question here, not one per option with every
    counting option's id in the statement (the provider page's 23 question indicators at 1M:
    31–47 → 14–21 ms, docs/performance.md "seventeenth round"). ``year`` is the year's first day;
    both counts default to 0 in the database, so a writer may add to one of them alone."""

    question_id = models.IntegerField()
    n = models.IntegerField(db_default=0)
    events = models.IntegerField(db_default=0)

    class Meta:
        # Covering (``n`` and ``events`` last), led as the readers filter: the question, the
        # years named, then the providers as one range (as the table by option).
        indexes = [models.Index(fields=["municipality", "question_id", "year", "provider", "n", "events"],
                                name="questionbyprovideryear_cover")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.year:%Y} question {self.question_id}: {self.events} of {self.n}"


class FollowUpByProviderYear(ProviderYearCount):
    status = models.CharField(max_length=12)
    assessment = models.CharField(max_length=10)

    class Meta:
        indexes = [
            models.Index(
                fields=["municipality", "year", "provider", "status", "assessment", "n"],
                name="followupbyprovideryear_cover",
            )
        ]

    def __str__(self) -> str:
        return f"{self.year:%Y} {self.status}: {self.n}"


class ProviderUnitYearCount(models.Model):
    """Rollups by provider, unit and calendar year (2026-12-05, branch ``unit5``): the full
    tables' rows summed over the service, the contract, the client's sex and age group (and the
    caseworker) and the year's months, kept by the same deltas (``counts.ROLLUPS``, the key's
    ``year`` projected from the month). A unit manager's counts of whole years (the provider page's
    own counts within the unit, by provider, and their partition along the unit) read here
    instead of every row of the full table's year. ``year`` is the year's first day."""

    municipality = models.ForeignKey("organisations.Municipality", **_DIMENSION)
    year = models.DateField()
    provider = models.ForeignKey("registry.Provider", **_DIMENSION)
    unit = models.ForeignKey("organisations.Unit", **_DIMENSION)
    n = models.IntegerField()

    class Meta:
        abstract = True


class FollowUpByProviderUnitYear(ProviderUnitYearCount):
    status = models.CharField(max_length=12)
    assessment = models.CharField(max_length=10)

    class Meta:
        # The second, led by the provider, for one provider's rows by unit (the unit manager's
        # provider page): PostgreSQL has no skip scan, so the first index cannot be searched by
        # provider and it read the whole table instead (154,280 rows at 1M, ~15 ms a read, two
        # reads a page; 2026-12-07, docs/performance.md "thirteenth round").
        indexes = [models.Index(fields=["municipality", "year", "unit", "provider", "status", "assessment", "n"],
                                name="followupbyprovunityear_cover"),
                   models.Index(fields=["municipality", "provider", "year", "unit", "status", "assessment", "n"],
                                name="followupbyprovunityear_prov")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.year:%Y} {self.status}: {self.n}"


class QuestionByProviderUnitYear(ProviderUnitYearCount):
    """A question's n and events by provider, unit and calendar year (2026-12-06, branch
    ``hidfold``): the answers' rollup by provider, unit and year with the option folded away
    through its flags, as :class:`QuestionByProviderCaseMixYear` folds the case mix's
    (``counts.FOLDED``); the rollup by option it replaced, ``AnswerByProviderUnitYear``, was read by
    nothing after that and was dropped by aggregates 0021. ``n``: the
    answers whose option counts, ``events`` those whose option counts and is positive. A unit
    manager's question counts of whole years (the unit's own rows by provider, and the providers'
    partitions along the unit for the disclosure check) read one row per provider, unit and
    question here, not one per option. ``year`` is the year's first day; both counts default to 0
    in the database, so a writer may add to one of them alone."""

    question_id = models.IntegerField()
    n = models.IntegerField(db_default=0)
    events = models.IntegerField(db_default=0)

    class Meta:
        # Covering (``n`` and ``events`` last), led as the readers filter: the question, the
        # years named, then one unit's providers as one range (as the table by option).
        indexes = [models.Index(fields=["municipality", "question_id", "year", "unit", "provider", "n", "events"],
                                name="questionprovunityear_cover")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.year:%Y} question {self.question_id}: {self.events} of {self.n}"


class FollowUpByUnit(models.Model):
    """Follow-ups by unit, calendar month, status and assessment (2026-12-07, branch
    ``unitmonth``): the full follow-up table summed over the provider, service, contract, the
    client's sex and age group and the caseworker, kept by the same deltas (``counts.ROLLUPS``).
    Read for an assessment or the follow-ups by status counted by the unit alone (or by nothing
    but a unit filter): a unit manager's trend of an assessment indicator and its partition along
    every unit, which read the full table's months otherwise (761,415 rows at 1M), as
    :class:`QuestionByUnit` is read for a question."""

    municipality = models.ForeignKey("organisations.Municipality", **_DIMENSION)
    month = models.DateField()
    unit = models.ForeignKey("organisations.Unit", **_DIMENSION)
    status = models.CharField(max_length=12)
    assessment = models.CharField(max_length=10)
    n = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["municipality", "month", "unit", "status", "assessment", "n"],
                                name="followupbyunit_cover")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.status}: {self.n}"


class QuestionByUnit(models.Model):
    """A question's n and events by unit and calendar month (2026-12-07, branch ``unitmonth``):
    the full answer table's rows summed over the provider, service, contract, the client's sex
    and age group, with the option folded away through its flags as the other folded tables
    (``counts.FOLDED``): ``n`` the answers whose option counts, ``events`` those whose option
    counts and is positive. Read for a question counted by unit alone (or by nothing but a unit
    filter): a unit manager's trend and its partition along every unit for the disclosure check,
    which read the full answer table's months otherwise (527,115 rows at 1M, 359 ms on SQLite;
    docs/performance.md "fourteenth round"). The first folded table by month: ``month`` is the
    month's first day, and both counts default to 0 in the database, so a writer may add to one
    of them alone."""

    municipality = models.ForeignKey("organisations.Municipality", **_DIMENSION)
    month = models.DateField()
    unit = models.ForeignKey("organisations.Unit", **_DIMENSION)
    question_id = models.IntegerField()
    n = models.IntegerField(db_default=0)
    events = models.IntegerField(db_default=0)

    class Meta:
        # Covering (``n`` and ``events`` last), led as the readers filter: the question, a range
        # of months, then the units.
        indexes = [models.Index(fields=["municipality", "question_id", "month", "unit", "n", "events"],
                                name="questionbyunit_cover")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} question {self.question_id}: {self.events} of {self.n}"


class ProviderCaseMixYearCount(models.Model):
    """Rollups by provider, case mix and calendar year (2026-12-04, branch ``oe2``): the full
    tables' rows summed over the unit, the contract (and the caseworker) and the year's months,
    kept by the same deltas (``counts.ROLLUPS``, the key's ``year`` projected from the month).
    The case-mix adjusted comparison of whole years reads its cells (provider × sex × age group
    × service) here: at a million follow-ups ~4× fewer rows than the full table's months, which
    hold about one row per answer. ``year`` is the year's first day. The answers' table by
    option was replaced on 2026-12-05 by :class:`QuestionByProviderCaseMixYear` (no option)."""

    municipality = models.ForeignKey("organisations.Municipality", **_DIMENSION)
    year = models.DateField()
    provider = models.ForeignKey("registry.Provider", **_DIMENSION)
    service = models.ForeignKey("registry.Service", **_DIMENSION)
    client_sex = models.CharField(max_length=8)
    age_group = models.CharField(max_length=8)
    n = models.IntegerField()

    class Meta:
        abstract = True


class FollowUpByProviderCaseMixYear(ProviderCaseMixYearCount):
    status = models.CharField(max_length=12)
    assessment = models.CharField(max_length=10)

    class Meta:
        indexes = [models.Index(fields=["municipality", "year", "provider", "client_sex", "age_group", "service",
                                        "status", "assessment", "n"], name="followupprovcasemixyear_cover")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.year:%Y} {self.status}: {self.n}"


class QuestionByProviderCaseMixYear(ProviderCaseMixYearCount):
    """A question's n and events by provider, case mix and calendar year (2026-12-05, branch
    ``oe4``): the answers' rollup by provider, case mix and year with the option folded away
    through its flags (``instruments.Option.counts`` and ``positive``): ``n`` counts the answers
    whose option counts, ``events`` those whose option counts and is positive, as every question
    indicator counts them (``instruments.services._spans``). The flags belong to the option, which is
    frozen with its published version (answers exist only for published versions), so the same
    n and events serve every indicator of the question. Kept by the same deltas
    (``counts.FOLDED``); the O/E's cells of a year are one covering-index range of one entry per
    cell: at a million follow-ups 473,356 rows where the table by option had 1,213,086.
    ``year`` is the year's first day; both counts default to 0 in the database, so a writer may
    add to one of them alone."""

    question_id = models.IntegerField()
    n = models.IntegerField(db_default=0)  # the case-mix rollups' n, with a default
    events = models.IntegerField(db_default=0)

    class Meta:
        # Covering (``n`` and ``events`` last) and in the O/E's grouping order, as the table by option.
        indexes = [models.Index(fields=["municipality", "question_id", "year", "provider", "client_sex", "age_group",
                                        "service", "n", "events"], name="questionprovcasemixyear_cover")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.year:%Y} question {self.question_id}: {self.events} of {self.n}"


class QuestionByProviderUnitCaseMixYear(ProviderCaseMixYearCount):
    """A question's n and events by provider, unit, case mix and calendar year (2026-12-06,
    branch ``mgroe``): :class:`QuestionByProviderCaseMixYear` with the unit kept, folded and
    kept by the same deltas (``counts.FOLDED``). A unit manager's O/E cells (provider × sex ×
    age group × service within the unit) of whole years read one covering-index range a year
    here instead of the full monthly table's rows of every unit. ``year`` is the year's first
    day; both counts default to 0 in the database, as in the table without the unit."""

    unit = models.ForeignKey("organisations.Unit", **_DIMENSION)
    question_id = models.IntegerField()
    n = models.IntegerField(db_default=0)
    events = models.IntegerField(db_default=0)

    class Meta:
        # Covering and led as the reader filters: a unit's cells of a question and year are one range.
        indexes = [models.Index(fields=["municipality", "question_id", "year", "unit", "provider", "client_sex",
                                        "age_group", "service", "n", "events"], name="questionprovunitcasemix_cover")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.year:%Y} question {self.question_id}: {self.events} of {self.n}"


class QuestionByUnitCaseMixYear(models.Model):
    """A question's n and events by unit, case mix and calendar year, every provider summed
    (2026-12-07, branch ``unitmonth``): :class:`QuestionByProviderUnitCaseMixYear` without the
    provider, folded and kept by the same deltas (``counts.FOLDED``). A unit manager's women and
    men (the unit's cells by service, age group and sex, and their partitions along every unit
    for the disclosure check) read a few rows per unit here instead of every provider's cells of
    every unit (54 ms a read at 1M on SQLite; docs/performance.md "fourteenth round"). ``year`` is
    the year's first day; both counts default to 0 in the database."""

    municipality = models.ForeignKey("organisations.Municipality", **_DIMENSION)
    year = models.DateField()
    unit = models.ForeignKey("organisations.Unit", **_DIMENSION)
    service = models.ForeignKey("registry.Service", **_DIMENSION)
    client_sex = models.CharField(max_length=8)
    age_group = models.CharField(max_length=8)
    question_id = models.IntegerField()
    n = models.IntegerField(db_default=0)
    events = models.IntegerField(db_default=0)

    class Meta:
        # Covering and led as the readers filter: a unit's cells of a question and year are one range.
        indexes = [models.Index(fields=["municipality", "question_id", "year", "unit", "client_sex", "age_group",
                                        "service", "n", "events"], name="questionunitcasemixyear_cover")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.year:%Y} question {self.question_id}: {self.events} of {self.n}"


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


class CaseMixCount(models.Model):
    """Rollups by case mix without provider, unit and contract (women and men, comparisons by
    service, sex or age group): the sums of the full tables' rows over those three, kept by the
    same deltas (``utfall.aggregates.rollup``). Their rows grow with months × services × sexes
    × age groups, not with providers or units."""

    municipality = models.ForeignKey("organisations.Municipality", **_DIMENSION)
    month = models.DateField()
    service = models.ForeignKey("registry.Service", **_DIMENSION)
    client_sex = models.CharField(max_length=8)
    age_group = models.CharField(max_length=8)
    n = models.IntegerField()

    class Meta:
        abstract = True


class AnswerByCaseMix(CaseMixCount):
    question_id = models.IntegerField()
    option_id = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["municipality", "question_id", "month", "service", "client_sex",
                                        "age_group", "option_id"], name="answerbycasemix_period")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} question {self.question_id} option {self.option_id}: {self.n}"


class FollowUpByCaseMix(CaseMixCount):
    status = models.CharField(max_length=12)
    assessment = models.CharField(max_length=10)

    class Meta:
        indexes = [models.Index(fields=["municipality", "month", "service", "client_sex", "age_group", "status",
                                        "assessment"], name="followupbycasemix_period")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.status}: {self.n}"


class ClientCount(models.Model):
    """Rollups by client of the clients who answer more than once (the trend's cluster-robust
    intervals: per period, the sums of each client's n_c², x_c·n_c and x_c²,
    ``utfall.aggregates.rollup``): the rows of a follow-up only when its client has another
    follow-up of the same kind in the same calendar year, with ``quarterly`` set when that
    one is in the same calendar quarter too. A client with one answer in a period adds 1, x to
    every sum, which the count tables give (2026-12-03, docs/decisions.md)."""

    municipality = models.ForeignKey("organisations.Municipality", **_DIMENSION)
    month = models.DateField()
    client = models.ForeignKey("registry.Client", **_DIMENSION)
    provider = models.ForeignKey("registry.Provider", **_DIMENSION)
    service = models.ForeignKey("registry.Service", **_DIMENSION)
    unit = models.ForeignKey("organisations.Unit", **_DIMENSION)
    #: The client has another such follow-up in the row's calendar quarter (else only in its year).
    quarterly = models.BooleanField()
    n = models.IntegerField()

    class Meta:
        abstract = True


class AnswerByClient(ClientCount):
    question_id = models.IntegerField()
    option_id = models.IntegerField()

    class Meta:
        # Covering for the trend's read (by question, quarterly or not, and months, grouped by
        # client; with n: rows are replaced, never updated); by client for the writers, which
        # replace a client's rows; one provider's trend (the provider page) reads its own rows by
        # the third (2026-12-03, branch prov: not covering, else SQLite's planner chose it for
        # every trend).
        indexes = [
            models.Index(fields=["municipality", "question_id", "quarterly", "month", "client", "option_id",
                                 "provider", "service", "unit", "n"], name="answerbyclient_repeats"),
            models.Index(fields=["client"], name="answerbyclient_client"),
            models.Index(fields=["municipality", "provider", "question_id", "month"], name="answerbyclient_provider"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} client {self.client_id} question {self.question_id}: {self.n}"


class FollowUpByClient(ClientCount):
    assessment = models.CharField(max_length=10)

    class Meta:
        indexes = [
            models.Index(fields=["municipality", "quarterly", "month", "client", "assessment", "provider",
                                 "service", "unit", "n"], name="followupbyclient_repeats"),
            models.Index(fields=["client"], name="followupbyclient_client"),
            models.Index(fields=["municipality", "provider", "month"], name="followupbyclient_provider"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} client {self.client_id} {self.assessment}: {self.n}"


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


class CoverageByProviderUnit(CoverageRollup):
    """By provider and unit (2026-12-05, branch ``unit5``): a unit manager's coverage by provider
    within the unit and its partition along the unit, read without the full table's rows."""

    provider = models.ForeignKey("registry.Provider", **_DIMENSION)
    unit = models.ForeignKey("organisations.Unit", **_DIMENSION)

    class Meta:
        # The provider before the unit, as the key (a writer's probe by municipality, period and
        # provider); a period has a few thousand rows, so one unit's are found by reading them.
        indexes = [models.Index(fields=["municipality", "period", "provider", "unit", "followed", "n"],
                                name="coveragebyprovunit_period")]  # fmt: skip

    def __str__(self) -> str:
        return f"period {self.period_id} provider {self.provider_id} unit {self.unit_id} followed={self.followed}: {self.n}"


class OutcomeDimensions(models.Model):
    """What an ended intervention's outcome is counted by (the outcome indicators' facts), beside
    the month of its end: whether it ended by a move (step down and rereferral leave those out),
    how far its implementation plan's goals were reached, the next intervention's service when it
    started within the step-down window, and the shortest rereferral window the client was back
    within. The indicators' windows are buckets here, not a fact that changes by the day: "counted
    only once the whole window has passed" is a condition on the month (``comparisons.counted``)."""

    moved = models.BooleanField()
    #: "" no goals in the plan, "none" none reached, "some" some reached (fully or partly), "all" all fully.
    goals = models.CharField(max_length=4)
    #: Null when nothing started within the step-down window (or the intervention ended by a move).
    next_service = models.ForeignKey("registry.Service", null=True, **_DIMENSION)
    #: The shortest rereferral window (days) the client was back within; null: none (or moved).
    back_within = models.SmallIntegerField(null=True)

    class Meta:
        abstract = True


class OutcomeCount(CountDimensions, OutcomeDimensions):
    """Ended interventions per month of the end and every dimension of the pages, by their
    outcome (step down, plan goals, rereferral): read instead of the interventions and their
    :class:`InterventionOutcome`, kept by the same brackets (``aggregates.outcome_counts``)."""

    class Meta:
        indexes = [models.Index(fields=["municipality", "month", "provider", "service", "unit", "client_sex",
                                        "age_group", "moved", "goals", "contract", "next_service",
                                        "back_within"],
                                name="outcomecount_period")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} outcomes: {self.n}"


class OutcomeMeasureCount(models.Model):
    """Ended interventions per outcome measure (:data:`~utfall.aggregates.outcome_counts.MEASURES`)
    and whether they reached it: the rollups of :class:`OutcomeCount` that the provider page, the
    comparison of all providers and the outcomes page per service read. The step down is decided
    here with the catalogue's intensities (a changed intensity refills them from the full table,
    which keeps the next service itself)."""

    municipality = models.ForeignKey("organisations.Municipality", **_DIMENSION)
    month = models.DateField()
    measure = models.CharField(max_length=16)
    event = models.BooleanField()
    n = models.IntegerField()

    class Meta:
        abstract = True


class OutcomeByProvider(OutcomeMeasureCount):
    provider = models.ForeignKey("registry.Provider", **_DIMENSION)

    class Meta:
        # Covering (n too) for the comparison of all providers and the provider page (2026-12-03).
        indexes = [models.Index(fields=["municipality", "measure", "month", "provider", "event", "n"],
                                name="outcomebyprovider_cover")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.measure} {self.event}: {self.n}"


class OutcomeByService(OutcomeMeasureCount):
    service = models.ForeignKey("registry.Service", **_DIMENSION)

    class Meta:
        indexes = [models.Index(fields=["municipality", "measure", "month", "service", "event"],
                                name="outcomebyservice_period")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.measure} {self.event}: {self.n}"


class OutcomeByProviderUnit(OutcomeMeasureCount):
    """By provider and unit (2026-12-05, branch ``unit5``): a unit manager's outcome indicators by
    provider within the unit and their partition along the unit, read without the full table."""

    provider = models.ForeignKey("registry.Provider", **_DIMENSION)
    unit = models.ForeignKey("organisations.Unit", **_DIMENSION)

    class Meta:
        # Covering; the unit before the provider: one unit's providers are one range per month.
        indexes = [models.Index(fields=["municipality", "measure", "month", "unit", "provider", "event", "n"],
                                name="outcomebyprovunit_cover")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.measure} {self.event}: {self.n}"


class OutcomeMeasureYearCount(models.Model):
    """:class:`OutcomeMeasureCount` by calendar year (2026-12-07, branch ``outyear``): a monthly
    outcome rollup's twelve months summed, kept by the same brackets (``outcome_counts.ROLLUPS``,
    the key's ``year`` projected from the month). ``year`` is the year's first day."""

    municipality = models.ForeignKey("organisations.Municipality", **_DIMENSION)
    year = models.DateField()
    measure = models.CharField(max_length=16)
    event = models.BooleanField()
    n = models.IntegerField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.year:%Y} {self.measure} {self.event}: {self.n}"


class OutcomeByProviderYear(OutcomeMeasureYearCount):
    """:class:`OutcomeByProvider` by year. A comparison of whole years by provider (step down and
    plan goals over a year, the provider page) reads one row per provider, measure and event
    instead of twelve."""

    provider = models.ForeignKey("registry.Provider", **_DIMENSION)

    class Meta:
        # Covering, as the monthly rollup's: a measure's year is one range of every provider.
        indexes = [models.Index(fields=["municipality", "measure", "year", "provider", "event", "n"],
                                name="outcomebyprovideryear_cover")]  # fmt: skip


class OutcomeByProviderUnitYear(OutcomeMeasureYearCount):
    """:class:`OutcomeByProviderUnit` by year. A unit manager's comparison of step down or the
    plan's goals over whole years reads, for the disclosure check, every provider's counts by
    unit: here one row per provider, unit, measure and event a year instead of twelve."""

    provider = models.ForeignKey("registry.Provider", **_DIMENSION)
    unit = models.ForeignKey("organisations.Unit", **_DIMENSION)

    class Meta:
        # Covering, the unit before the provider as in the monthly table: a unit's providers are
        # one range a year (its years are named: ``queries._YEAR_THEN_UNIT``).
        indexes = [models.Index(fields=["municipality", "measure", "year", "unit", "provider", "event", "n"],
                                name="outcomeprovunityear_cover")]  # fmt: skip
