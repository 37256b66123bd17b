"""Procurement's own records: outcome-based payment rules and statements, and what a
provider reports (its own outcome figures, its written responses). The contract itself stays in
the registry; everything here points at it (docs/architecture.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from utfall.organisations.models import Municipality
from utfall.registry.models import Contract, Provider

#: Indicators a payment rule may use: those counted per intervention, so the statement can
#: list each counted intervention as evidence (comparisons.queries.counted_interventions).
RULE_INDICATORS = [
    ("step_down", "Övergång till lägre insatsnivå (step_down)"),
    ("plan_goals_reached", "Når målen i genomförandeplanen helt eller delvis"),
    ("plan_goals_fully", "Når alla mål i genomförandeplanen"),
]


class RuleKind(models.TextChoices):
    BONUS_SHARE = "bonus_share", "Bonus i procent av periodens ersättning"
    PER_CLIENT = "per_client", "Belopp per klient som når utfallet"


class PaymentRule(models.Model):
    """One rule of outcome-based payment, written as data (docs/procurement.md).

    ``bonus_share``: ``share_percent`` of the period's compensation when the contract's rate on
    ``indicator`` is above the municipality's and its lower 95 % bound above ``floor``.
    ``per_client``: ``amount`` kronor per client whose counted intervention reached
    ``indicator``. Both pay nothing when the follow-up coverage is below ``min_coverage`` or fewer
    than ``min_clients`` were counted (the gaming guard)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="payment_rules")
    name = models.CharField("benämning", max_length=200)
    kind = models.CharField("typ", max_length=12, choices=RuleKind.choices)
    indicator = models.CharField("utfallsmått", max_length=60, choices=RULE_INDICATORS)
    share_percent = models.DecimalField(
        "bonus (% av ersättningen)", max_digits=5, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )  # fmt: skip
    floor = models.DecimalField(
        "golv för nedre 95 %-gränsen (andel)", max_digits=4, decimal_places=3, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )  # fmt: skip
    amount = models.DecimalField("belopp per klient (kr)", max_digits=10, decimal_places=0, null=True,
                                 blank=True, validators=[MinValueValidator(Decimal("0"))])  # fmt: skip
    min_coverage = models.DecimalField(
        "lägsta uppföljningsgrad (andel)", max_digits=4, decimal_places=3, default=Decimal("0.800"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )  # fmt: skip
    min_clients = models.PositiveIntegerField("minsta antal klienter", default=10)
    active = models.BooleanField("gäller", default=True)

    class Meta:
        verbose_name = "regel för resultatbaserad ersättning"
        verbose_name_plural = "regler för resultatbaserad ersättning"
        ordering = ["contract", "pk"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.municipality_id is None and self.contract_id is not None:
            self.municipality_id = self.contract.municipality_id  # the tenant key follows the contract
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.kind == RuleKind.BONUS_SHARE and self.share_percent is None:
            raise ValidationError({"share_percent": "Ange bonusens storlek i procent av ersättningen."})
        if self.kind == RuleKind.PER_CLIENT and self.amount is None:
            raise ValidationError({"amount": "Ange beloppet per klient i kronor."})
        if self.min_clients < settings.UTFALL_MIN_COUNT:
            raise ValidationError({"min_clients": too_few_clients()})

    def as_data(self) -> dict[str, Any]:
        """The rule as the statement freezes it."""
        return {
            "name": self.name, "kind": self.kind, "indicator": self.indicator,
            "share_percent": None if self.share_percent is None else str(self.share_percent),
            "floor": str(self.floor), "amount": None if self.amount is None else str(self.amount),
            "min_coverage": str(self.min_coverage), "min_clients": self.min_clients,
        }  # fmt: skip


class StatementStatus(models.TextChoices):
    DRAFT = "draft", "Utkast"
    APPROVED = "approved", "Godkänd"
    SUPERSEDED = "superseded", "Ersatt av en rättad version"


class Statement(models.Model):
    """What a contract's outcome-based payment came to for one period: each rule, its evidence
    and amount, frozen in ``content``. Approved statements never change: a correction is a new
    version that supersedes the old one (which stays)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="statements")
    period_from = models.DateField("period från")
    period_to = models.DateField("period till")
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=12, choices=StatementStatus.choices, default=StatementStatus.DRAFT)
    content = models.JSONField()
    total = models.DecimalField("att betala (kr)", max_digits=14, decimal_places=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.CharField(max_length=150, blank=True)
    reason = models.TextField("skäl till rättelsen", blank=True)
    supersedes = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="superseded_by")  # fmt: skip

    class Meta:
        verbose_name = "avräkning"
        verbose_name_plural = "avräkningar"
        ordering = ["contract", "-period_from", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "period_from", "period_to", "version"],
                                    name="statement_version_unique"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.contract} {self.period_from}–{self.period_to} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = Statement.objects.filter(pk=self.pk).values("status", "content", "total").first()
            if (
                stored
                and stored["status"] != StatementStatus.DRAFT
                and (stored["content"] != self.content or stored["total"] != self.total)
            ):
                raise ValidationError("En godkänd avräkning ändras aldrig: gör en rättelse (ny version).")
        super().save(*args, **kwargs)


class ProviderReport(models.Model):
    """A provider's own figure for an outcome measure in a period (events of n), shown beside
    the municipality's own figure for the same measure."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="own_reports")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    indicator = models.CharField("utfallsmått", max_length=60)
    period_from = models.DateField("period från")
    period_to = models.DateField("period till")
    events = models.PositiveIntegerField("antal med utfallet")
    n = models.PositiveIntegerField("antal räknade")
    comment = models.TextField("kommentar", blank=True)
    reported_at = models.DateTimeField(auto_now_add=True)
    reported_by = models.CharField(max_length=150)

    class Meta:
        verbose_name = "utförarens egen redovisning"
        verbose_name_plural = "utförarnas egna redovisningar"
        ordering = ["provider", "-period_from", "indicator", "-reported_at"]

    def __str__(self) -> str:
        return f"{self.provider} {self.indicator} {self.period_from}–{self.period_to}"


class DeviationResponse(models.Model):
    """A provider's written response to a deviation (a flagged indicator) in a period."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="deviation_responses")
    indicator = models.CharField("indikator", max_length=60)
    period_from = models.DateField()
    period_to = models.DateField()
    text = models.TextField("svar")
    written_at = models.DateTimeField(auto_now_add=True)
    written_by = models.CharField(max_length=150)

    class Meta:
        verbose_name = "utförarens svar på en avvikelse"
        verbose_name_plural = "utförarnas svar på avvikelser"
        ordering = ["-written_at"]

    def __str__(self) -> str:
        return f"{self.provider} {self.indicator} {self.period_from}–{self.period_to}"


def too_few_clients() -> str:
    return (f"Minsta antal klienter kan inte vara under {settings.UTFALL_MIN_COUNT}, systemets minsta antal för "
            "redovisade siffror: en ersättning per klient skulle annars röja små antal.")  # fmt: skip


def by_username(user: Any) -> str:
    return str(user.get_username()) if user is not None else "system"
