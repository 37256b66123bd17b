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

from django.dispatch import Signal

#: Sent inside the writer's transaction after rows that can change a result were written.
data_changed = Signal()


def announce_data_changed() -> None:
    """Tell every listener (the comparison cache, later maintained count tables) that rows
    which feed a result were written. Call it inside the writing transaction."""
    data_changed.send(sender=None)
