"""The house stays as drawn (docs/architecture.md): no module imports a higher layer.

Every module of the package is read with ``ast`` (imports inside functions and under
``TYPE_CHECKING`` count too) and placed in a layer by the longest prefix in
:data:`LAYERS`. A module may import its own layer and the layers below; rooms marked as
siblings in one layer do not import each other. Model relations are checked the same way,
since a foreign key given as a string is a dependency that no import shows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "utfall"

#: Bottom to top. Each layer is a list of rooms; a room is a list of module prefixes.
#: Rooms of one layer are siblings: they may not import each other. Rooms that do not
#: exist yet are the places drawn for them (docs/architecture.md).
LAYERS: list[tuple[str, list[list[str]]]] = [
    ("stats", [["utfall.stats"]]),
    ("core", [["utfall.core", "utfall.organisations"]]),
    ("catalogue", [["utfall.registry.models", "utfall.instruments"]]),
    ("records", [["utfall.records", "utfall.registry", "utfall.followups"]]),
    ("aggregates", [["utfall.aggregates"]]),
    ("interchange / comparisons", [["utfall.interchange"], ["utfall.comparisons"]]),
    ("oversight", [["utfall.oversight"]]),
    ("procurement", [["utfall.procurement"]]),
    (
        "results / reports / pages / API / demo / CLI",
        [
            [
                "utfall.results",
                "utfall.reports",
                "utfall.api",
                "utfall.urls",
                "utfall.views",
                "utfall.settings",
                "utfall.demo",
                "utfall.cli",
                "utfall.__main__",
                "utfall.wsgi",
                "utfall.asgi",
            ]
        ],
    ),
]

#: Known exceptions, each with its reason. Keep this short.
ALLOWED_RELATIONS = {
    # Pilot feedback is stored per question (instruments) and follow-up: the model predates
    # the layers; moving it to followups is a migration, left for when the pilot ends.
    ("instruments.QuestionFeedback", "followups.FollowUp"),
    # A provider's user account names its provider (the provider role sees its own
    # aggregates). The user model is the first migration of all (AUTH_USER_MODEL).
    ("organisations.User", "registry.Provider"),
}


def place(module: str) -> tuple[int, int] | None:
    """(layer, room) of a module by its longest matching prefix, None outside the package."""
    best: tuple[int, int, int] | None = None
    for level, (_, rooms) in enumerate(LAYERS):
        for room, prefixes in enumerate(rooms):
            for prefix in prefixes:
                if (module == prefix or module.startswith(prefix + ".")) and (
                    best is None or len(prefix) > best[2]
                ):
                    best = (level, room, len(prefix))
    return None if best is None else (best[0], best[1])


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "migrations" in parts:
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every ``utfall`` import, relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from utfall.x import y`` may name a submodule y: judge the deepest known name.
            out += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in out if name == "utfall" or name.startswith("utfall.")]


def violation(importer: str, imported: str) -> str | None:
    here, there = place(importer), place(imported)
    if here is None or there is None or imported == "utfall":
        return None
    if there[0] > here[0]:
        return f"{LAYERS[there[0]][0]} is above {LAYERS[here[0]][0]}"
    if there[0] == here[0] and there[1] != here[1]:
        return f"sibling rooms of {LAYERS[here[0]][0]} do not import each other"
    return None


def test_every_module_is_placed_in_a_layer() -> None:
    unplaced = [name for name in modules() if name != "utfall" and place(name) is None]
    assert not unplaced, f"add these to LAYERS (and docs/architecture.md): {unplaced}"


def test_no_module_imports_a_higher_layer() -> None:
    problems = []
    for module, path in modules().items():
        for line, imported in imports_of(module, path):
            reason = violation(module, imported)
            if reason:
                problems.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {module} imports {imported}: {reason}"
                )
    assert not problems, "\n".join(problems)


#: Modules that may take counts from ``comparisons.queries`` without the disclosure control
#: (issue 10.6): the control itself, and the payment basis (amounts on a contract's own
#: counts over its own dates, for the procurement officer; docs/disclosure.md, residual risk).
RAW_COUNTS_ALLOWED = {
    "utfall.comparisons.disclosure",
    "utfall.comparisons.queries",
    "utfall.procurement.payment",
}
RAW_COUNTS = (
    "aggregate",
    "aggregate_cells",
    "aggregate_questions",
    "aggregate_by_client",
    "followup_status_counts",
)


def test_every_output_takes_its_counts_through_the_disclosure_control() -> None:
    """Issue 10.6: pages, API, downloads, reports, procurement, oversight and the CLI get their
    counts from comparisons.disclosure.protected_counts, never from the count functions."""
    problems = []
    for module, path in modules().items():
        if module in RAW_COUNTS_ALLOWED:
            continue
        for line, imported in imports_of(module, path):
            if imported in {f"utfall.comparisons.queries.{name}" for name in RAW_COUNTS}:
                problems.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {module} imports {imported}")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_no_model_relates_to_a_higher_layer() -> None:
    from django.apps import apps

    problems = []
    for model in apps.get_models():
        if not model.__module__.startswith("utfall."):
            continue
        for field in model._meta.get_fields():
            if not field.is_relation or field.auto_created or field.related_model is None:
                continue
            target = field.related_model
            pair = (model._meta.label, target._meta.label)  # type: ignore[union-attr]
            reason = violation(model.__module__, target.__module__)
            if reason and pair not in ALLOWED_RELATIONS:
                problems.append(f"{pair[0]}.{field.name} -> {pair[1]}: {reason}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("importer", "imported", "allowed"),
    [
        ("utfall.followups.services", "utfall.comparisons.cache", False),  # a writer reaching up
        ("utfall.instruments.views", "utfall.followups.forms", False),  # the catalogue reaching up
        ("utfall.interchange.importer", "utfall.comparisons.cache", False),  # siblings
        ("utfall.core.views", "utfall.followups.models", False),
        ("utfall.followups.forms", "utfall.instruments.fields", True),
        ("utfall.results.services.common", "utfall.stats.suppression", True),
        ("utfall.instruments.forms", "utfall.registry.models", True),
        ("utfall.registry.models", "utfall.registry.services", False),
    ],
)
def test_the_rule_itself(importer: str, imported: str, allowed: bool) -> None:
    assert (violation(importer, imported) is None) is allowed
