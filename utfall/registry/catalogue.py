"""Load the shipped service catalogue (versioned YAML) into the database after migrate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEFINITIONS = Path(__file__).resolve().parent / "definitions"


def load_shipped_catalogue(**kwargs: Any) -> None:
    from utfall.registry.models import Service

    for path in sorted(DEFINITIONS.glob("services-v*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for entry in data["services"]:
            Service.objects.update_or_create(
                code=entry["code"],
                defaults={
                    "name": entry["name"],
                    "intensity": entry["intensity"],
                    "target_group": entry.get("target_group", ""),
                    "catalogue_version": data["version"],
                    "followup_months": entry.get("followup_months", 6),
                },
            )
