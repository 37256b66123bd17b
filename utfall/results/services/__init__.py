"""The analytics pages' domain functions, one module per page family.

``common`` holds what they share (the :class:`~utfall.results.services.common.Page`, the
user's scope, proportions with intervals, differences, groups with their total); each
family has its module: ``comparison`` (providers on one indicator, with funnel limits),
``trends``, ``gender`` (women and men), ``coverage``, ``outcomes`` and ``provider`` (one
provider's page). A new page family is a new module here built on ``common``.
"""
