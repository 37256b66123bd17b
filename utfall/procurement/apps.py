from __future__ import annotations

from django.apps import AppConfig


class ProcurementConfig(AppConfig):
    name = "utfall.procurement"
    verbose_name = "Upphandling och avtal"
    default_auto_field = "django.db.models.BigAutoField"
