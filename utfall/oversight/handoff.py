"""Deviation proposals to the quality management system by webhook, once per provider, side
and period: ``utfall deviations --period 2025 --notify`` (docs/oversight.md)."""

from __future__ import annotations

from django.db import transaction

from utfall.organisations.models import Municipality
from utfall.oversight import webhooks
from utfall.oversight.models import WebhookMessage
from utfall.oversight.proposals import ProposalSet

EVENTS = {"low": "deviation.proposed", "high": "deviation.positive"}


@transaction.atomic
def notify_proposals(municipality: Municipality, found: ProposalSet) -> int:
    """Queue one event per proposal not announced before for the same period; returns how many."""
    sent = 0
    for proposal in [*found.deviations, *found.positives]:
        event = EVENTS[proposal.direction]
        already = WebhookMessage.objects.filter(
            municipality=municipality, event_type=event, payload__data__period=found.period.label,
            payload__data__provider_id=proposal.provider_id,
        ).exists()  # fmt: skip
        if already:
            continue
        data = {"period": found.period.label, **proposal.as_json()}
        sent += webhooks.emit(municipality.pk, event, data)
    return sent
