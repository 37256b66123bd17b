"""Statistics for utfall: intervals, funnel limits, overdispersion, shrinkage, standardisation.

This package never imports Django. Modules are named by method family; every public
function says in its docstring what it was validated against (files in
``tests/stats/reference/``, with their sources). The Django side calls
:mod:`utfall.stats.comparison` and passes every output through
:func:`utfall.stats.suppression.suppress`.
"""
