"""The catalogue a submission is checked against, kept per process while it stays the same.

Loading a municipality's catalogue (``records.rules.load_catalogue``: the published
instrument versions, their services, questions and options, the services) took five queries
and a good part of every API submission's and form's CPU time (issue 13 point 3,
docs/performance.md "Load and faults"). A published version is read-only, its questions and
options with it (``instruments.models``), so what can change is *which* versions are
published and visible, their dates, respondents and services: one query reads exactly that, and the
instruments are loaded again only when it differs from the last time, or when this process
saved an instrument version, question, option or service (signals: a test's rolled-back rows
may come back with the same ids on SQLite). The services (code → id) are read every time
(one small query) and are part of what must stay the same. Decision: docs/decisions.md
(2026-12-02).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from utfall.instruments.access import visible_versions
from utfall.instruments.models import InstrumentVersion
from utfall.records.rules import Catalogue, InstrumentInfo, indicator_codes, load_catalogue
from utfall.registry.models import Service

Published = frozenset[tuple[int, dt.date | None, tuple[str, ...], int | None]]
Fingerprint = tuple[Published, frozenset[tuple[str, int]]]
_lock = threading.Lock()
#: municipality id (None: shared instruments only) → (what was published, its instruments)
_kept: dict[int | None, tuple[Fingerprint, dict[str, InstrumentInfo]]] = {}


def _published(municipality_id: int | None) -> Published:
    """(version, published on, respondents, service) of every published version the
    municipality sees (service None for a version that names none): all of an instrument
    version's part of the catalogue that can still change once it is published."""
    rows = InstrumentVersion.objects.filter(
        visible_versions(municipality_id), status=InstrumentVersion.Status.PUBLISHED
    ).values_list("pk", "published_on", "respondents", "services")
    return frozenset((pk, on, tuple(respondents or ()), service) for pk, on, respondents, service in rows)


def catalogue_for(today: dt.date | None = None, *, municipality_id: int | None = None) -> Catalogue:
    """``records.rules.catalogue_for`` with the instruments kept while the published versions
    and their services stay the same (two queries instead of five)."""
    today = today or timezone.localdate()
    published = _published(municipality_id)
    services = dict(Service.objects.values_list("code", "pk"))
    now: Fingerprint = (published, frozenset(services.items()))
    with _lock:
        kept = _kept.get(municipality_id)
    if kept is not None and kept[0] == now:
        return Catalogue(today=today, services=services, instruments=kept[1], indicators=indicator_codes())
    catalogue = load_catalogue(today, municipality_id)
    # Kept only when the load saw what the fingerprint saw (nothing was published between).
    if {row[0] for row in published} == {info.pk for info in catalogue.instruments.values()}:
        with _lock:
            _kept[municipality_id] = (now, catalogue.instruments)
    return catalogue


def forget(**_: Any) -> None:
    """Drop what is kept (on any save of what a catalogue holds, in this process)."""
    with _lock:
        _kept.clear()


def connect_signals() -> None:
    from utfall.instruments.models import Option, Question

    for model in (InstrumentVersion, Question, Option, Service, InstrumentVersion.services.through):
        label = model._meta.label
        post_save.connect(forget, sender=model, dispatch_uid=f"utfall-catalogue-{label}-save")
        post_delete.connect(forget, sender=model, dispatch_uid=f"utfall-catalogue-{label}-delete")
    m2m_changed.connect(
        forget, sender=InstrumentVersion.services.through, dispatch_uid="utfall-catalogue-m2m"
    )
