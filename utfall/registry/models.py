from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from django.db import models

from utfall.organisations.access import case_unit_ids
from utfall.organisations.models import Municipality, Unit


class Ownership(models.TextChoices):
    MUNICIPAL = "municipal", "Kommunal (egen regi)"
    PRIVATE = "private", "Privat"
    NONPROFIT = "nonprofit", "Idéburen"


class ContractForm(models.TextChoices):
    LOU = "lou", "LOU"
    LOV = "lov", "LOV"
    DIRECT = "direct", "Direktupphandling"
    OWN = "own", "Egen regi"


class PriceUnit(models.TextChoices):
    DAY = "day", "per dygn"
    INTERVENTION = "intervention", "per insats"


class Sex(models.TextChoices):
    FEMALE = "female", "Kvinna"
    MALE = "male", "Man"
    OTHER = "other", "Annat"


class EndReason(models.TextChoices):
    GOALS_MET = "goals_met", "Målen uppnådda"
    STEP_DOWN = "step_down", "Övergång till lägre insatsnivå"
    STEP_UP = "step_up", "Övergång till högre insatsnivå"
    BREAKDOWN = "breakdown", "Sammanbrott"
    MOVED = "moved", "Flyttat"
    CLIENT_ENDED = "client_ended", "Avslutad av klienten"
    OTHER = "other", "Annat"


class Service(models.Model):
    """An entry of the service catalogue (kind of intervention) with its intensity level."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    intensity = models.PositiveSmallIntegerField()
    target_group = models.CharField(max_length=60, blank=True)
    catalogue_version = models.PositiveIntegerField(default=1)
    followup_months = models.PositiveSmallIntegerField(
        default=6, help_text="Months between routine follow-ups; one more is due at the end."
    )

    class Meta:
        verbose_name = "tjänst i insatskatalogen"
        verbose_name_plural = "insatskatalog"
        ordering = ["-intensity", "code"]

    def __str__(self) -> str:
        return self.name


class Provider(models.Model):
    """Who carries out interventions: own units (egen regi), companies, non-profits."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    provider_id = models.CharField(max_length=60)
    name = models.CharField(max_length=200)
    org_number = models.CharField(max_length=10, blank=True)
    ownership = models.CharField(max_length=12, choices=Ownership.choices)

    class Meta:
        verbose_name = "utförare"
        verbose_name_plural = "utförare"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "provider_id"], name="provider_id_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Contract(models.Model):
    """An agreement with a provider (LOU, LOV, direct award or own operation)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    contract_id = models.CharField(max_length=60)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="contracts")
    form = models.CharField(max_length=8, choices=ContractForm.choices)
    services = models.ManyToManyField(Service, related_name="contracts")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    # Interchange v1.1 (docs/interchange.md): the contract as it is managed.
    extension_options = models.CharField(
        "förlängningsoptioner", max_length=60, blank=True,
        help_text="Månader per option, åtskilda av mellanslag, t.ex. 12 12 (två optioner om ett år).",
    )  # fmt: skip
    price = models.DecimalField("pris (kr)", max_digits=12, decimal_places=2, null=True, blank=True)
    price_unit = models.CharField("prisenhet", max_length=12, choices=PriceUnit.choices, blank=True)
    value = models.DecimalField("uppskattat avtalsvärde (kr)", max_digits=14, decimal_places=0, null=True,
                                blank=True)  # fmt: skip
    manager = models.CharField("avtalsförvaltare", max_length=200, blank=True)

    class Meta:
        verbose_name = "avtal"
        verbose_name_plural = "avtal"
        ordering = ["contract_id"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "contract_id"], name="contract_id_unique"),
        ]

    def __str__(self) -> str:
        return self.contract_id

    @property
    def option_months(self) -> list[int]:
        return [int(m) for m in self.extension_options.split() if m.isdigit()]

    @property
    def latest_end(self) -> dt.date | None:
        """The end date if every extension option is used (None for an open-ended contract)."""
        return None if self.valid_to is None else add_months(self.valid_to, sum(self.option_months))


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    year, month = divmod(day.month - 1 + months, 12)
    y, m = day.year + year, month + 1
    return day.replace(year=y, month=m, day=min(day.day, calendar.monthrange(y, m)[1]))


class ContractTarget(models.Model):
    """An outcome target agreed in a contract: the indicator's level, counted from min_n cases."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+", editable=False)
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="targets")
    indicator = models.SlugField("indikator", max_length=60)
    level = models.DecimalField("målnivå (andel 0–1)", max_digits=4, decimal_places=3)
    min_n = models.PositiveIntegerField("minsta antal (n)")

    class Meta:
        verbose_name = "resultatmål i avtal"
        verbose_name_plural = "resultatmål i avtal"
        ordering = ["contract", "indicator"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "indicator"], name="contract_target_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.indicator} ≥ {self.level} (n ≥ {self.min_n})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.municipality_id is None and self.contract_id is not None:
            self.municipality_id = self.contract.municipality_id  # the tenant key follows the contract
        super().save(*args, **kwargs)

    @property
    def as_code(self) -> str:
        """The interchange v1.1 form ``indicator:level:min_n``."""
        return f"{self.indicator}:{self.level.normalize():f}:{self.min_n}"


class Client(models.Model):
    """A client as a pseudonym only: no identity number, no name (invariant 1)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    pseudonym = models.CharField(max_length=64)
    sex = models.CharField(max_length=8, choices=Sex.choices)
    birth_year = models.PositiveSmallIntegerField()

    class Meta:
        verbose_name = "klient (pseudonym)"
        verbose_name_plural = "klienter (pseudonymer)"
        constraints = [
            models.UniqueConstraint(fields=["municipality", "pseudonym"], name="client_pseudonym_unique"),
        ]

    def __str__(self) -> str:
        return f"Klient {self.pseudonym[:8]}"


class InterventionQuerySet(models.QuerySet["Intervention"]):
    def for_user(self, user: Any) -> InterventionQuerySet:
        """The only way views and the API reach interventions: the user's own units' cases."""
        units = case_unit_ids(user)
        if not units:
            return self.none()
        return self.filter(municipality_id=user.municipality_id, unit_id__in=units)


class Intervention(models.Model):
    """A granted intervention (insats) for one client, carried out by one provider."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    intervention_id = models.CharField(max_length=60)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="interventions")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="interventions")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="interventions")
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="interventions"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="interventions")
    decided_on = models.DateField()
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=14, choices=EndReason.choices, blank=True)
    goals_total = models.PositiveSmallIntegerField(null=True, blank=True)
    goals_fully = models.PositiveSmallIntegerField(null=True, blank=True)
    goals_partly = models.PositiveSmallIntegerField(null=True, blank=True)
    disposed_on = models.DateField(
        null=True,
        blank=True,
        help_text="When `utfall dispose` made it and its follow-ups anonymous (retention, SoL 12 kap.).",
    )

    objects = InterventionQuerySet.as_manager()

    class Meta:
        verbose_name = "insats"
        verbose_name_plural = "insatser"
        ordering = ["intervention_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "intervention_id"], name="intervention_id_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["municipality", "provider"]),
            models.Index(fields=["municipality", "ended_on"], name="intervention_ended"),
            models.Index(fields=["municipality", "started_on"], name="intervention_started"),
            models.Index(fields=["municipality", "unit"]),
            models.Index(fields=["client", "started_on"]),
        ]

    def __str__(self) -> str:
        return self.intervention_id

    @property
    def is_ongoing(self) -> bool:
        return self.ended_on is None
