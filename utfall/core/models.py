from __future__ import annotations

from django.conf import settings
from django.db import models


class ChangeRecord(models.Model):
    """An earlier version of a record, kept when it was changed: who, when and why (invariant 4).

    ``data`` is the record's content before the change, in its interchange form (never an
    identity number: clients appear only as pseudonyms).
    """

    municipality = models.ForeignKey("organisations.Municipality", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20)  # providers, contracts, interventions, followups
    record_id = models.CharField(max_length=60)
    version = models.PositiveIntegerField()
    data = models.JSONField()
    changed_at = models.DateTimeField(auto_now_add=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_by_label = models.CharField(max_length=150, help_text="Who, also when not a user (import).")
    reason = models.TextField()

    class Meta:
        verbose_name = "ändringshistorik"
        verbose_name_plural = "ändringshistorik"
        ordering = ["kind", "record_id", "version"]
        indexes = [models.Index(fields=["municipality", "kind", "record_id"])]

    def __str__(self) -> str:
        return f"{self.kind}/{self.record_id} v{self.version}"


class AppendOnly(Exception):
    """An audit entry was about to be changed or removed; the audit log only grows."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: object) -> int:
        raise AppendOnly("revisionsloggen kan inte ändras")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly("revisionsloggen kan inte rensas här")


class AuditEntry(models.Model):
    """One read or write of individual-level data: who, when, what (invariant 5). Append-only.

    ``record_ids`` are the records' own identifiers (intervention and follow-up ids): never
    an identity number, a name or an answer. The model refuses update and delete, and the
    database refuses UPDATE and DELETE through triggers (utfall.core.sqlite on SQLite).
    ``refused`` entries name the path a signed-in user was refused (403), with no ids.
    """

    class Action(models.TextChoices):
        VIEW = "view", "Läste"
        LIST = "list", "Listade"
        CREATE = "create", "Registrerade"
        CORRECT = "correct", "Rättade"
        REFUSED = "refused", "Nekades"
        EXPORT = "export", "Exporterade"
        DISPOSE = "dispose", "Gallrade"

    # Empty only for a refused request of an account without a municipality.
    municipality = models.ForeignKey(
        "organisations.Municipality", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=8, choices=Action.choices)
    kind = models.CharField(max_length=20)  # interventions, followups
    record_ids = models.JSONField(default=list)
    where = models.CharField(max_length=200, help_text="The page or API endpoint (path without query).")

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "revisionslogg"
        verbose_name_plural = "revisionslogg"
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["municipality", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.kind}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise AppendOnly("revisionsloggen kan inte ändras")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnly("revisionsloggen kan inte rensas här")


class IdempotencyKey(models.Model):
    """A client-chosen key for one create request, so that a resent request creates nothing new.

    Scoped to the user who sent it. ``fingerprint`` is a hash of the request's content: the
    same key with other content is refused instead of silently answered with the old record.
    """

    municipality = models.ForeignKey("organisations.Municipality", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    kind = models.CharField(max_length=20)  # interventions, followups
    fingerprint = models.CharField(max_length=64)
    record_pk = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "idempotensnyckel"
        verbose_name_plural = "idempotensnycklar"
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


class ApiToken(models.Model):
    """A bearer token for the API, acting as its user. Only a SHA-256 hash of the token is stored."""

    municipality = models.ForeignKey("organisations.Municipality", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API-nyckel"
        verbose_name_plural = "API-nycklar"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class DataGeneration(models.Model):
    """A token that changes, in the writer's own transaction, with every write that can change
    a result (follow-ups, answers, interventions, clients, providers, units, services,
    instruments). Results cached per process carry the token they were computed under, so a
    changed token means they are never served again (utfall.comparisons.cache, which listens
    to utfall.core.changes; docs/decisions.md, 2026-11-23). A random token rather than a counter: a rolled-back
    transaction restores the old token, and a counter would then hand out a number again.
    """

    token = models.CharField(max_length=32)

    class Meta:
        verbose_name = "datagenerering"
        verbose_name_plural = "datagenerering"

    def __str__(self) -> str:
        return self.token


class StoredFit(models.Model):
    """An overdispersion fit kept between server processes (``utfall.core.fits``): the fitted
    parameters (``text``, never counts) under the SHA-256 of the fit's arguments and code.
    Derived data: deleting every row changes no output, only the next cold page's time."""

    municipality = models.ForeignKey("organisations.Municipality", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    text = models.TextField()
    stored = models.DateField()

    class Meta:
        verbose_name = "sparad anpassning"
        verbose_name_plural = "sparade anpassningar"
        constraints = [
            models.UniqueConstraint(fields=["municipality", "key"], name="core_storedfit_unique_key")
        ]
        indexes = [models.Index(fields=["stored"], name="core_storedfit_stored")]

    def __str__(self) -> str:
        return self.key
