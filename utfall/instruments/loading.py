"""Load shipped instrument definitions (versioned YAML) into the database after migrate.

A version that is already stored is compared with its file: a published version whose file
has changed is an error (answered history must not change; ship a new version instead).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from utfall.core.changes import announce_data_changed

DEFINITIONS = Path(__file__).resolve().parent / "definitions"


class ShippedDefinitionChanged(RuntimeError):
    pass


def read_definition(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def definition_of(version: Any) -> dict[str, Any]:
    """The stored version in the shape of its YAML file (for comparison and export)."""
    questions = []
    for q in version.questions.all().prefetch_related("options"):
        entry: dict[str, Any] = {
            "code": q.code,
            "text": q.text,
            "options": [
                {"code": o.code, "label": o.label, "positive": o.positive, "counts": o.counts}
                for o in q.options.all()
            ],
        }
        if q.help_text:
            entry["help_text"] = q.help_text
        if q.condition_question:
            entry["condition"] = {"question": q.condition_question, "in": list(q.condition_options)}
        for key in ("change", "change_reason", "series_text"):
            if getattr(q, key):
                entry[key] = getattr(q, key)
        questions.append(entry)
    return {"questions": questions}


def _normalised(data: dict[str, Any]) -> dict[str, Any]:
    questions = []
    for q in data["questions"]:
        entry: dict[str, Any] = {
            "code": q["code"],
            "text": q["text"],
            "options": [
                {
                    "code": str(o["code"]),
                    "label": o["label"],
                    "positive": bool(o.get("positive", False)),
                    "counts": bool(o.get("counts", True)),
                }
                for o in q["options"]
            ],
        }
        if q.get("help_text"):
            entry["help_text"] = q["help_text"]
        if q.get("condition"):
            entry["condition"] = {"question": q["condition"]["question"], "in": list(q["condition"]["in"])}
        for key in ("change", "change_reason", "series_text"):
            if q.get(key):
                entry[key] = str(q[key])
        questions.append(entry)
    return {"questions": questions}


def write_questions(version: Any, questions: list[dict[str, Any]]) -> None:
    """Store a definition's questions and answer options on a version that has none (a shipped
    file being installed, or a draft being rewritten by the editor)."""
    from utfall.instruments.models import Option, Question

    for qpos, q in enumerate(questions, start=1):
        condition = q.get("condition") or {}
        question = Question.objects.create(
            version=version,
            code=str(q["code"]),
            position=qpos,
            text=str(q["text"]),
            help_text=str(q.get("help_text", "")),
            condition_question=str(condition.get("question", "")),
            condition_options=[str(c) for c in condition.get("in", [])],
            change=str(q.get("change", "")),
            change_reason=str(q.get("change_reason", "")),
            series_text=str(q.get("series_text", "")),
        )
        Option.objects.bulk_create(
            Option(
                question=question,
                code=str(o["code"]),
                position=opos,
                label=str(o["label"]),
                positive=bool(o.get("positive", False)),
                counts=bool(o.get("counts", True)),
            )
            for opos, o in enumerate(q["options"], start=1)
        )


@transaction.atomic
def install_definition(data: dict[str, Any]) -> Any:
    from utfall.instruments.models import Instrument, InstrumentVersion
    from utfall.registry.models import Service

    instrument, _ = Instrument.objects.get_or_create(code=data["code"], defaults={"name": data["name"]})
    general = bool(data.get("general", False))
    if instrument.general != general:  # the instrument is not versioned; its role may change
        Instrument.objects.filter(pk=instrument.pk).update(general=general)
    existing = InstrumentVersion.objects.filter(instrument=instrument, version=data["version"]).first()
    if existing is not None:
        if _normalised(data) != definition_of(existing):
            raise ShippedDefinitionChanged(
                f"{existing.key}: the shipped definition differs from the stored version; "
                "published versions are read-only, ship a new version instead"
            )
        return existing
    version = InstrumentVersion.objects.create(
        instrument=instrument, version=data["version"], respondents=data.get("respondents", ["client"])
    )
    version.services.set(Service.objects.filter(code__in=data.get("services", [])))
    write_questions(version, data["questions"])
    if data.get("published_on"):
        InstrumentVersion.objects.filter(pk=version.pk).update(
            status=InstrumentVersion.Status.PUBLISHED, published_on=data["published_on"]
        )
        version.refresh_from_db()
        announce_data_changed()  # a published version changes which answers count (past the signals)
    return version


def load_shipped_instruments(**kwargs: Any) -> None:
    for path in sorted(DEFINITIONS.glob("*.yaml")):
        install_definition(read_definition(path))
