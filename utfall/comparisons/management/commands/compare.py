"""utfall compare: one indicator compared across providers, services, units, sexes or age groups."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from utfall.comparisons.disclosure import SUPPRESSED_TEXT, SUPPRESSION_RULE
from utfall.comparisons.indicators import DIMENSIONS, UnknownIndicator
from utfall.comparisons.queries import BadQuery
from utfall.comparisons.services import ComparisonResult, compare
from utfall.core.commands import add_municipality_argument, get_municipality


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"'{value}' är inte ett datum på formen ÅÅÅÅ-MM-DD") from None


def _rate(value: str) -> float:
    try:
        return float(value.replace(",", "."))
    except ValueError:
        raise CommandError(f"--goal ska vara en andel mellan 0 och 1, inte '{value}'") from None


def _filters(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise CommandError(f"--filter ska ha formen dimension=värde, inte '{item}'")
        out[key] = value
    return out


def render_table(result: ComparisonResult) -> str:
    data = result.as_json()
    od = data["overdispersion"]
    lines = [
        f"Indikator {data['indicator']}, {data['from']}–{data['to']}, per {data['by']}"
        + (" (justerat för sex, ålder, insats: O/E)" if result.adjusted else ""),
        f"Mål (target): {data['target']}   överspridning: {od['method']}, phi={od['phi']}, "
        f"tau2={od['tau2']}, utelämnade ur skattningen: {', '.join(od['excluded']) or 'inga'}",
        *([result.period_note] if result.period_note else []),
        "",
    ]
    value_key = "ratio" if result.adjusted else "rate"
    count_key = "observed" if result.adjusted else "events"
    header = ["grupp", "n", count_key, value_key, "95 % KI", "gränser 95 %", "gränser 99,8 %", "flagga"]
    table = [header]
    for row in data["rows"]:
        if row["suppressed"]:
            table.append([row["group"], "–", "–", "–", "", "", "", SUPPRESSED_TEXT])
            continue

        def pair(a: Any, b: Any) -> str:
            return "" if a is None else f"{a:.3f}–{b:.3f}"

        table.append([
            row["group"], str(row["n"]), str(row[count_key]),
            "" if row[value_key] is None else f"{row[value_key]:.3f}",
            pair(row["ci_low"], row["ci_high"]), pair(row["lower_95"], row["upper_95"]),
            pair(row["lower_998"], row["upper_998"]),
            {"low": "LÅG", "high": "HÖG"}.get(row["flag"] or "", ""),
        ])  # fmt: skip
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        lines.append(
            "  ".join(
                c.rjust(w) if i in (1, 2, 3) else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
    reliability = data.get("reliability")
    if reliability:
        lines += ["", f"Tillförlitlighet (rankbarhet): {reliability['rankability']:.2f} "
                  f"({reliability['rankability_low']:.2f}–{reliability['rankability_high']:.2f}). "
                  + reliability["sentence"]]  # fmt: skip
    lines += ["", "Flagga = utanför 99,8 %-gränserna efter justering för överspridning: en tydlig avvikelse "
              "som bör följas upp, inte en rangordning."]  # fmt: skip
    if any(row["suppressed"] for row in data["rows"]):
        lines.append(SUPPRESSION_RULE.format(min_n=settings.UTFALL_MIN_COUNT))

    return "\n".join(lines)


class Command(BaseCommand):
    help = "Jämför en indikator mellan utförare, insatser, enheter, kön eller åldersgrupper."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--indicator", required=True)
        parser.add_argument("--from", dest="date_from", required=True, type=_date)
        parser.add_argument("--to", dest="date_to", required=True, type=_date)
        parser.add_argument("--by", default="provider", choices=DIMENSIONS)
        parser.add_argument("--filter", action="append", default=[], help="t.ex. service=hvb_youth")
        parser.add_argument("--adjust", action="store_true", help="justera för ålder, kön och insats (O/E)")
        parser.add_argument(
            "--goal", type=_rate, help="målnivå (andel 0–1): sannolikheten att ligga under den"
        )
        parser.add_argument("--as-of", type=_date, help="referensdatum (standard: nyaste lagrade datum)")
        parser.add_argument("--format", default="table", choices=["json", "csv", "table"])
        add_municipality_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = compare(
                municipality=get_municipality(options),
                indicator=options["indicator"],
                date_from=options["date_from"],
                date_to=options["date_to"],
                by=options["by"],
                filters=_filters(options["filter"]),
                adjust=options["adjust"],
                as_of=options["as_of"],
                goal=options["goal"],
            )
        except (UnknownIndicator, BadQuery) as exc:
            raise CommandError(str(exc)) from None
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
        elif options["format"] == "csv":
            self.stdout.write(result.as_csv(), ending="")
        else:
            self.stdout.write(render_table(result))
