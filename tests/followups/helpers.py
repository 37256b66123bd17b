from __future__ import annotations

from typing import Any

from django.test import Client

from utfall.followups.forms import new_token
from utfall.registry.models import Intervention

COMPLETED = {
    "status": "completed",
    "respondent": "client",
    "q1": "yes_completely",
    "q2": "yes_mostly",
    "q3": "yes_somewhat",
    "q4": "much_better",
    "q5": "very_large",
    "g1": "yes",
    "g2": "partly",
    "g3": "yes",
    "assessment": "approved",
}
DECLINED = {"status": "declined", "respondent": "client"}


def form_data(base: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    from django.utils import timezone

    data: dict[str, Any] = {
        "token": new_token(),
        "date": timezone.localdate().isoformat(),
        **(base or COMPLETED),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_followup(client: Client, intervention: Intervention, data: dict[str, Any] | None = None) -> Any:
    return client.post(f"/uppfoljningar/ny/{intervention.pk}/", data if data is not None else form_data())
