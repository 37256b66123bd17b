from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import m2m_changed
from django.dispatch import receiver


class Role(models.TextChoices):
    """Roles from DOMAIN.md. Stored as Django groups of the same name."""

    CASEWORKER = "caseworker", "Socialsekreterare"
    UNIT_MANAGER = "unit_manager", "Enhetschef"
    ANALYST = "analyst", "Utredare/kvalitetsstrateg"
    PROCUREMENT = "procurement", "Upphandlare/avtalsförvaltare"
    PROVIDER = "provider", "Utförare"
    BOARD = "board", "Nämnd"
    AUDITOR = "auditor", "Granskare (revisionslogg)"
    SYSTEM_ADMIN = "system_admin", "Systemadministratör"
    INSTRUMENT_EDITOR = "instrument_editor", "Frågeformulärsansvarig (kommunens egna formulär)"


class Municipality(models.Model):
    """A municipality: the tenant. Every tenant-owned row carries one."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    scb_code = models.CharField(
        "kommunkod (SCB)", max_length=4, blank=True,
        help_text="Fyra siffror, t.ex. 0180 för Stockholm: kommunens id i öppna data (Kolada).",
    )  # fmt: skip

    class Meta:
        verbose_name = "kommun"
        verbose_name_plural = "kommuner"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The code is part of the municipality's pseudonym key: once it has clients, renaming
        it would make every identity number a new client (docs/privacy.md)."""
        super().clean()
        if self.pk is None:
            return
        stored = Municipality.objects.filter(pk=self.pk).values_list("code", flat=True).first()
        if stored is not None and stored != self.code:
            from django.apps import apps

            if apps.get_model("registry", "Client").objects.filter(municipality_id=self.pk).exists():
                raise ValidationError(
                    {
                        "code": "Koden ingår i kommunens pseudonymnyckel och kan inte ändras när det finns klienter."
                    }
                )


class Unit(models.Model):
    """A district administration (stadsdelsförvaltning) or unit responsible for cases."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="units")
    code = models.CharField(max_length=60)
    name = models.CharField(max_length=200)

    class Meta:
        verbose_name = "enhet"
        verbose_name_plural = "enheter"
        ordering = ["municipality", "name"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "code"], name="unit_code_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in. Belongs to one municipality and one or more units; roles are groups."""

    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    units = models.ManyToManyField(Unit, blank=True, related_name="members")
    provider = models.ForeignKey(
        "registry.Provider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        help_text="Endast för utförarkonton: den utförare vars egna resultat kontot får se.",
    )

    class Meta:
        verbose_name = "användare"
        verbose_name_plural = "användare"

    def has_role(self, role: Role | str) -> bool:
        return self.groups.filter(name=str(role)).exists()

    def clean(self) -> None:
        """A user's provider and units are of the user's own municipality (also refused when
        units are added in code: see ``_units_of_own_municipality``)."""
        super().clean()
        provider = self.provider
        if provider is not None and provider.municipality_id != self.municipality_id:
            raise ValidationError({"provider": "Utföraren hör till en annan kommun än användaren."})
        if self.pk is not None:
            units = self.units.all()
            foreign = units.exclude(municipality_id=self.municipality_id) if self.municipality_id else units
            if foreign.exists():
                raise ValidationError({"units": "En enhet hör till en annan kommun än användaren."})


@receiver(m2m_changed, sender=User.units.through)
def _units_of_own_municipality(
    sender: Any, instance: Any, action: str, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """The model's own guard, whatever the path (admin, shell, import): no unit of another municipality."""
    if action != "pre_add" or not pk_set:
        return
    model: Any = Unit if isinstance(instance, User) else User  # else unit.members.add(user, …)
    others = model.objects.filter(pk__in=pk_set)
    municipality_id = instance.municipality_id
    foreign = others.exclude(municipality_id=municipality_id) if municipality_id else others
    if foreign.exists():
        raise ValidationError("En användare kan bara höra till enheter i sin egen kommun.")


class Committee(models.Model):
    """A political committee (nämnd) whose members read the published reports and aggregates of
    its scope: the whole municipality (socialnämnden) or one unit (a stadsdelsnämnd over its
    district administration). Read-only: a board account never sees individual data."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="committees")
    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="committees",
        help_text="Tom: nämnden ansvarar för hela kommunen.",
    )
    members = models.ManyToManyField(User, blank=True, related_name="committees")

    class Meta:
        verbose_name = "nämnd"
        verbose_name_plural = "nämnder"
        ordering = ["municipality", "name"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "code"], name="committee_code_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.unit is not None and self.unit.municipality_id != self.municipality_id:
            raise ValidationError({"unit": "Enheten hör till en annan kommun än nämnden."})
