from __future__ import annotations

from typing import Any

from django.db import models


class Respondent(models.TextChoices):
    """Who answers an instrument version's questions (``InstrumentVersion.respondents``)."""

    CLIENT = "client", "Klienten"
    GUARDIAN = "guardian", "Vårdnadshavare"


class PublishedVersionIsReadOnly(Exception):
    """A published instrument version was about to be edited; make a new version instead."""


class Instrument(models.Model):
    """A set of standard questions (e.g. Stockholm's 2021 follow-up model), in versions.

    ``municipality`` empty: a shared (national) instrument, offered to every municipality and
    changed only with ``instruments.edit_shared_instrument``. Set: the municipality's own local
    instrument, seen, used and edited only inside that tenant (``instruments.access``)."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    municipality = models.ForeignKey(
        "organisations.Municipality",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for a shared instrument; the owning municipality for a local one.",
    )
    general = models.BooleanField(
        default=False,
        help_text="Asked for every service it names unless the caseworker picks a target-group instrument.",
    )

    class Meta:
        verbose_name = "instrument"
        verbose_name_plural = "instrument"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class InstrumentVersion(models.Model):
    """One version of an instrument. Once published it is read-only; changes make a new version."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Utkast"
        PUBLISHED = "published", "Publicerad"

    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_on = models.DateField(null=True, blank=True)
    respondents = models.JSONField(default=list, help_text="Allowed respondents: client, guardian.")
    services = models.ManyToManyField("registry.Service", blank=True, related_name="instruments")

    class Meta:
        verbose_name = "instrumentversion"
        verbose_name_plural = "instrumentversioner"
        ordering = ["instrument__code", "version"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "version"], name="instrument_version_unique"),
        ]

    def __str__(self) -> str:
        return self.key

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk and not self._state.adding:
            stored = InstrumentVersion.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored == self.Status.PUBLISHED:
                raise PublishedVersionIsReadOnly(f"{self} är publicerad och kan inte ändras")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self.is_read_only:
            raise PublishedVersionIsReadOnly(f"{self} är publicerad och kan inte tas bort")
        return super().delete(*args, **kwargs)

    @property
    def key(self) -> str:
        """The interchange name, ``code@version``."""
        return f"{self.instrument.code}@{self.version}"

    @property
    def is_read_only(self) -> bool:
        return self.status == self.Status.PUBLISHED


class _PartOfVersion(models.Model):
    """Questions and options are frozen with their version."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._version().is_read_only:
            raise PublishedVersionIsReadOnly(f"{self._version()} är publicerad och kan inte ändras")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self._version().is_read_only:
            raise PublishedVersionIsReadOnly(f"{self._version()} är publicerad och kan inte ändras")
        return super().delete(*args, **kwargs)

    def _version(self) -> InstrumentVersion:
        raise NotImplementedError


class Question(_PartOfVersion):
    """A question in one instrument version. ``{provider}`` in the text is the provider's name."""

    version = models.ForeignKey(InstrumentVersion, on_delete=models.CASCADE, related_name="questions")
    code = models.SlugField(max_length=40)
    position = models.PositiveSmallIntegerField()
    text = models.TextField()
    help_text = models.TextField(blank=True)
    condition_question = models.SlugField(
        max_length=40, blank=True, help_text="Asked only when this question's answer is one of …"
    )
    condition_options = models.JSONField(default=list, blank=True)
    #: How the text changed from the previous published version's question of the same code
    #: (docs/instruments.md, "Editorial and substantive changes"): "" unchanged or new,
    #: "editorial" same meaning (stays comparable; ``change_reason`` says why), "substantive" a
    #: new series.
    change = models.CharField(
        max_length=12,
        blank=True,
        choices=[("", "oförändrad"), ("editorial", "redaktionell"), ("substantive", "innehållslig")],
    )
    change_reason = models.TextField(blank=True)
    #: The wording whose meaning an editorial change keeps (the series' first text); empty when
    #: the question's own text starts its series. Comparability compares this, not the text.
    series_text = models.TextField(blank=True)

    class Meta:
        verbose_name = "fråga"
        verbose_name_plural = "frågor"
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="question_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.version}:{self.code}"

    def _version(self) -> InstrumentVersion:
        return self.version

    @property
    def series_wording(self) -> str:
        """The wording that defines the question's series (comparability)."""
        return (self.series_text or self.text).strip()


class Option(_PartOfVersion):
    """An answer option. ``positive`` counts in an indicator's numerator; ``counts`` in its denominator."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    code = models.SlugField(max_length=40)
    position = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=200)
    positive = models.BooleanField(default=False)
    counts = models.BooleanField(
        default=True, help_text="False for 'Vet inte': excluded from the indicator's denominator."
    )

    class Meta:
        verbose_name = "svarsalternativ"
        verbose_name_plural = "svarsalternativ"
        ordering = ["question", "position"]
        constraints = [
            models.UniqueConstraint(fields=["question", "code"], name="option_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.question}={self.code}"

    def _version(self) -> InstrumentVersion:
        return self.question.version


class QuestionFeedback(models.Model):
    """Pilot feedback: the caseworker marked that the client found a question hard to understand.

    One row per follow-up and question; counted per question and version on the pilot page, so
    the wording can be revised in the next version.
    """

    municipality = models.ForeignKey("organisations.Municipality", on_delete=models.PROTECT, related_name="+")
    followup = models.ForeignKey("followups.FollowUp", on_delete=models.CASCADE, related_name="feedback")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="feedback")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "frågeåterkoppling"
        verbose_name_plural = "frågeåterkoppling"
        constraints = [
            models.UniqueConstraint(fields=["followup", "question"], name="feedback_once_per_question"),
        ]

    def __str__(self) -> str:
        return f"{self.followup_id}:{self.question}"
