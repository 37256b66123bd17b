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
