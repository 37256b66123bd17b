from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from tests.followups.helpers import DECLINED, form_data, post_followup
from tests.personas import World

pytestmark = pytest.mark.django_db


def test_it_mails_each_caseworker_with_overdue_followups_without_client_data(world: World, client) -> None:  # type: ignore[no-untyped-def]
    for name in ("caseworker", "colleague", "other_unit", "analyst", "manager"):
        user = getattr(world, name)
        user.email = f"{user.username}@example.org"
        user.save()
    out = StringIO()
    call_command("remind", "--base-url", "https://utfall.example.org", stdout=out)
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["colleague@example.org", "cw@example.org", "soder-cw@example.org"]
    message = next(m for m in mail.outbox if m.to == ["cw@example.org"])
    assert "2 försenade uppföljningar" in message.body and "HVB, barn och unga: 2" in message.body
    assert "https://utfall.example.org/uppfoljningar/?due=overdue" in message.body
    for iid in ("I-OVERDUE", "I-ENDED"):
        assert iid not in message.body
    assert "Skickade 3 påminnelser." in out.getvalue()


def test_it_stays_silent_when_nothing_is_overdue(world: World, client) -> None:  # type: ignore[no-untyped-def]
    world.caseworker.email = "cw@example.org"
    world.caseworker.save()
    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"], form_data(DECLINED))
    post_followup(client, world.interventions["ended"], form_data(DECLINED))
    call_command("remind", stdout=StringIO())
    assert mail.outbox == []
