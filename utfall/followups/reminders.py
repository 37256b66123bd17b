"""The daily reminder: each caseworker with overdue follow-ups in their units gets a short e-mail.

The message holds counts per service and a link, never an intervention id, a client or an
answer: e-mail leaves the system's access control.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _

from utfall.followups.queries import due_items
from utfall.organisations.models import Role, User


def caseworkers() -> list[User]:
    return list(
        User.objects.filter(is_active=True, groups__name=Role.CASEWORKER, municipality__isnull=False)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def reminder_text(user: User, *, today: dt.date, base_url: str) -> str | None:
    """The message for one caseworker, or None when nothing is overdue."""
    overdue = [w for w in due_items(user, today=today) if w.overdue]
    if not overdue:
        return None
    per_service = Counter(w.intervention.service.name for w in overdue)
    lines = [
        _("Hej!"),
        "",
        _("I din enhet finns %(n)s försenade uppföljningar:") % {"n": len(overdue)},
        *(f"- {name}: {count}" for name, count in sorted(per_service.items())),
        "",
        _("Öppna listan Att följa upp: %(url)s")
        % {"url": base_url.rstrip("/") + "/uppfoljningar/?due=overdue"},
        "",
        _("Meddelandet innehåller inga uppgifter om klienter."),
    ]
    return "\n".join(lines)


def send_reminders(*, today: dt.date, base_url: str) -> int:
    sent = 0
    with translation.override(settings.LANGUAGE_CODE):
        for user in caseworkers():
            text = reminder_text(user, today=today, base_url=base_url)
            if text is None:
                continue
            send_mail(_("utfall: försenade uppföljningar"), text, None, [user.email])
            sent += 1
    return sent
