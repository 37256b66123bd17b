"""Targets (mål) for indicators, and the reports (års- och delårsrapporter) built for a
committee: a draft with the analyst's commentary, frozen whole when published."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from utfall.organisations.models import Committee, Municipality, Unit
from utfall.registry.models import Service


class Comparator(models.TextChoices):
    AT_LEAST = "at_least", _("minst")
    AT_MOST = "at_most", _("högst")


class Target(models.Model):
    """A target for one indicator, one calendar year and one scope: "Nöjd med stödet minst
    80 % för HVB unga 2026". Judged against the indicator's 95 % interval (targets.judge)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    indicator = models.CharField("indikator", max_length=60)
    year = models.PositiveSmallIntegerField(
        "år", validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    comparator = models.CharField("jämförelse", max_length=10, choices=Comparator.choices,
                                  default=Comparator.AT_LEAST)  # fmt: skip
    level = models.DecimalField(
        "målnivå (%)", max_digits=5, decimal_places=1,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )  # fmt: skip
    service = models.ForeignKey(
        Service, verbose_name="insats", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unit = models.ForeignKey(
        Unit, verbose_name="enhet", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField("kommentar", max_length=300, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "mål"
        verbose_name_plural = "mål"
        ordering = ["-year", "indicator", "pk"]
        # One target per indicator, year, service and unit: checked by TargetForm (the fields
        # may be empty, and NULLs are distinct in a unique constraint on SQLite).

    def __str__(self) -> str:
        return f"{self.indicator} {self.get_comparator_display()} {self.level} % {self.year}"

    def clean(self) -> None:
        if self.unit is not None and self.unit.municipality_id != self.municipality_id:
            raise ValidationError({"unit": "Enheten hör till en annan kommun."})


class ReportKind(models.TextChoices):
    ANNUAL = "annual", "Årsrapport"
    INTERIM = "interim", "Delårsrapport"


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("Utkast")
    PUBLISHED = "published", _("Publicerad")


class Report(models.Model):
    """An annual or interim report for a scope and a period. A draft is built afresh from the
    data each time it is shown; publishing stores the built content (numbers, charts and the
    commentary) in ``content`` and it never changes again: a correction is a new version."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("typ", max_length=10, choices=ReportKind.choices, default=ReportKind.ANNUAL)
    committee = models.ForeignKey(
        Committee,
        verbose_name="nämnd",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    unit = models.ForeignKey(
        Unit, verbose_name="enhet", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    date_from = models.DateField("från och med")
    date_to = models.DateField("till och med")
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    version = models.PositiveSmallIntegerField(default=1)
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections"
    )
    content = models.JSONField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "rapport"
        verbose_name_plural = "rapporter"
        ordering = ["-date_to", "-version", "-pk"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = Report.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored == ReportStatus.PUBLISHED:
                raise ValidationError("En publicerad rapport ändras aldrig; gör en ny version.")
        super().save(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.status == ReportStatus.PUBLISHED

    @property
    def scope_unit(self) -> Unit | None:
        """The unit the report is narrowed to: its own, else its committee's (None: the municipality)."""
        if self.unit is not None:
            return self.unit
        return self.committee.unit if self.committee is not None else None

    @property
    def title(self) -> str:
        kind = self.get_kind_display()
        period = f"{self.date_from:%Y-%m-%d}–{self.date_to:%Y-%m-%d}"
        if self.kind == ReportKind.ANNUAL and self.date_from.month == 1 and self.date_from.day == 1:
            period = str(self.date_from.year)
        who = self.committee.name if self.committee else (self.unit.name if self.unit else "")
        version = f", version {self.version}" if self.version > 1 else ""
        return f"{kind} {period}" + (f" – {who}" if who else "") + version


class Commentary(models.Model):
    """The analyst's text for one section of a draft report (frozen into the report's content
    when it is published)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="commentary")
    #: The tenant key, set from the report (every tenant-owned table carries it).
    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+", editable=False)
    section = models.CharField(max_length=80)
    text = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "kommentar"
        verbose_name_plural = "kommentarer"
        constraints = [models.UniqueConstraint(fields=["report", "section"], name="commentary_unique")]

    def __str__(self) -> str:
        return f"{self.report}: {self.section}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.report.is_published:
            raise ValidationError("En publicerad rapport ändras aldrig; gör en ny version.")
        self.municipality_id = self.report.municipality_id
        super().save(*args, **kwargs)


class ReferenceValue(models.Model):
    """One value of another municipality, read from its published open data in Kolada's shape
    (reports.opendata), shown beside our own indicators (the national reference)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    source = models.CharField("kommun", max_length=40, help_text="Kommunkoden i filen (SCB).")
    kpi = models.CharField(max_length=60)
    period = models.PositiveSmallIntegerField()
    gender = models.CharField(max_length=1)
    value = models.FloatField()
    count = models.PositiveIntegerField(null=True, blank=True)
    file_label = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "referensvärde"
        verbose_name_plural = "referensvärden (andra kommuner)"
        indexes = [models.Index(fields=["municipality", "kpi", "period"])]

    def __str__(self) -> str:
        return f"{self.source} {self.kpi} {self.period} {self.gender}: {self.value}"
