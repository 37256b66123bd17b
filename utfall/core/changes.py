""" "The data changed": a fact of the core that writers announce and readers of counts act on.

A write that puts rows in past Django's model signals (an import's bulk inserts, the
answers saved with a follow-up, shipped instrument versions) calls
:func:`announce_data_changed` inside its own transaction. Receivers of :data:`data_changed`
run at once, in that transaction: the comparison cache (``utfall.comparisons.cache``)
replaces the :class:`~utfall.core.models.DataGeneration` token there, so a reader that sees
the new rows also sees the new token. Writes of one model instance at a time are seen by
the same receivers through ``post_save``/``post_delete``. Writers never import the layers
that listen (docs/architecture.md); a new bulk write path must announce its change here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.dispatch import Signal

_open = threading.local()

#: Sent inside the writer's transaction after rows that can change a result were written.
#: With ``municipality_id`` and ``interventions`` (primary keys) when sent by :func:`changing`.
data_changed = Signal()
#: Sent inside the writer's transaction *before* the rows of the named interventions (their
#: follow-ups, answers, clients) are changed, so that maintained counts can take the old
#: rows' share out (``utfall.aggregates``).
data_changing = Signal()
#: Sent inside the writer's transaction after new follow-ups (with all their answers) were
#: written and nothing else changed, with ``municipality_id`` and ``followups`` (primary
#: keys), by :func:`adding_followups`: maintained counts add those rows' share alone.
followups_added = Signal()


def announce_data_changed(municipality_id: int | None = None, interventions: Iterable[int] = ()) -> None:
    """Tell every listener (the comparison cache, the maintained count tables) that rows
    which feed a result were written. Call it inside the writing transaction. Name the
    interventions whose rows were *added* (nothing of theirs existed before) so that the count
    tables add them; a change of existing rows is bracketed by :func:`changing` instead. An
    announcement without a scope changes no count row (only cached results)."""
    if municipality_id is None:
        data_changed.send(sender=None)
        return
    data_changed.send(
        sender=None, municipality_id=municipality_id, interventions=sorted(set(interventions)), state={}
    )


@contextmanager
def changing(
    municipality_id: int,
    interventions: Iterable[int],
    *,
    followups_only: bool = False,
    created: list[int] | None = None,
) -> Iterator[list[int]]:
    """Bracket a write that touches the given interventions (their own facts, their client's,
    their follow-ups or answers), inside the writing transaction: listeners hear
    :data:`data_changing` before the write and :data:`data_changed` after it. The list it
    yields may be extended with interventions the write created. Maintained count tables
    (``utfall.aggregates``) take the scope's old share out before and put its new share in
    after, so they stay exact in the writer's transaction. ``followups_only``: the write
    changes follow-ups and answers but no intervention's or client's facts (so what happened
    after an intervention, stored per intervention, stays). ``created``: a list the writer
    fills, during the write, with interventions it created *without* follow-ups (an import's
    new interventions): they have no count to read, so only their clients' outcomes are
    stored again (reading their share cost an import ~20 % of its CPU, docs/performance.md)."""
    touched = sorted(set(interventions))
    # Listeners keep what they need here; "created" is read after the write.
    state: dict[str, Any] = {
        "followups_only": followups_only,
        "created": created if created is not None else [],
    }
    _open.depth = getattr(_open, "depth", 0) + 1
    try:
        data_changing.send(sender=None, municipality_id=municipality_id, interventions=touched, state=state)
        yield touched
        data_changed.send(
            sender=None, municipality_id=municipality_id, interventions=sorted(set(touched)), state=state
        )
    finally:
        _open.depth -= 1


@contextmanager
def adding_followups(municipality_id: int) -> Iterator[list[int]]:
    """Bracket a write that only *adds* follow-ups (with their answers) of one municipality,
    inside the writing transaction: the writer appends the new follow-ups' primary keys to
    the list it yields. Afterwards listeners hear :data:`followups_added` (the count tables
    add the new rows' share: nothing of them existed before, so nothing is read or taken out
    first) and then :data:`data_changed` once, without a scope (the comparison cache's token).
    The cheap path of a single submission (issue 13 point 3, docs/performance.md); a write
    that changes or deletes rows, or an intervention's facts, uses :func:`changing`."""
    added: list[int] = []
    _open.depth = getattr(_open, "depth", 0) + 1
    try:
        yield added
        if added:
            followups_added.send(sender=None, municipality_id=municipality_id, followups=sorted(set(added)))
        data_changed.send(sender=None)
    finally:
        _open.depth -= 1


def inside_changing() -> bool:
    """Whether this thread is inside a :func:`changing` or :func:`adding_followups` bracket
    (whose scope covers the model saves made in it, and which ends with :data:`data_changed`:
    listeners of single saves leave those to the bracket)."""
    return getattr(_open, "depth", 0) > 0
