"""utfall deviations: the deviation proposals of a period, ranked as the priority list."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from utfall.core.commands import add_municipality_argument, get_municipality
from utfall.oversight.exports import proposals_csv, proposals_json
from utfall.oversight.handoff import notify_proposals
from utfall.oversight.periods import BadPeriod, Period
from utfall.oversight.priority import SORTS, priority_list
from utfall.oversight.proposals import RULES, Proposal, ProposalSet
from utfall.registry.models import Provider


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def _lines(title: str, proposals: list[Proposal]) -> list[str]:
    lines = [title, "=" * len(title)]
    if not proposals:
        return [*lines, "(inga)", ""]
    for rank, p in enumerate(proposals, start=1):
        contracts = ", ".join(c["contract_id"] for c in p.contracts) or "–"
        last = p.last_case["reference"] + " " + p.last_case["opened"] if p.last_case else "ingen"
        coverage = p.coverage.get("rate")
        lines.append(
            f"{rank}. {p.provider_name} ({p.provider_id}){'  [ny]' if p.new else ''}  evidens {p.strength:.2f}  "
            f"klienter {p.clients if p.clients is not None else 'färre än gränsen'}  "
            f"uppföljningsgrad {_fmt(coverage)}  avtal {contracts}  senaste fördjupade uppföljning {last}"
        )
        lines.append("   Regel: " + "; ".join(RULES[r] for r in p.rules))
        for e in p.evidence:
            before = e.previous or {}
            lines.append(
                f"   - {e.indicator}: n {e.n}, andel {_fmt(e.rate)} (95 % KI {_fmt(e.ci_low)}–{_fmt(e.ci_high)}), "
                f"gränser 95 % {_fmt(e.lower_95)}–{_fmt(e.upper_95)}, 99,8 % {_fmt(e.lower_998)}–{_fmt(e.upper_998)}, "
                f"kommunen {_fmt(e.reference)}; förra perioden n {before.get('n', '–')}, andel {_fmt(before.get('rate'))}"
            )
    return [*lines, ""]


def render_table(found: ProposalSet) -> str:
    lines = [
        f"Avvikelseförslag {found.period} ({found.period.date_from}–{found.period.date_to}); "
        f"förra perioden {found.previous}. Referens: kommunens alla utförare.",
        "",
        *_lines("Avvikelser (föreslås för fördjupad uppföljning)", found.deviations),
        *_lines("Positiva avvikelser", found.positives),
    ]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Avvikelseförslag för en period: utförare som bör få en fördjupad uppföljning, med evidens."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="ett år (2025) eller ett halvår (2025H1)")
        parser.add_argument("--format", default="table", choices=["json", "csv", "table"])
        parser.add_argument("--sort", default="evidence", choices=list(SORTS))
        parser.add_argument("--only-new", action="store_true", help="bara nya sedan förra perioden")
        parser.add_argument("--notify", action="store_true",
                            help="skicka förslagen till webhook-mottagarna (en gång per utförare och period)")  # fmt: skip
        add_municipality_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = Period.parse(options["period"])
        except BadPeriod as exc:
            raise CommandError(str(exc)) from None
        municipality = get_municipality(options)
        if not Provider.objects.filter(municipality=municipality).exists():
            others = Provider.objects.exclude(municipality=municipality).values_list(
                "municipality__code", flat=True
            )
            hint = ", ".join(sorted(set(others))) or "ingen"
            self.stderr.write(f"Kommunen '{municipality.code}' har inga utförare. Kommuner med data: {hint} "
                              "(välj med --municipality).")  # fmt: skip
        found = priority_list(municipality, period, only_new=options["only_new"], sort=options["sort"])
        if options["notify"]:
            queued = notify_proposals(municipality, found)
            self.stderr.write(f"{queued} webhook-meddelanden köade (levereras av utfall webhooks).")
        if options["format"] == "json":
            self.stdout.write(json.dumps(proposals_json(found), ensure_ascii=False, indent=1))
        elif options["format"] == "csv":
            self.stdout.write(proposals_csv(found), ending="")
        else:
            self.stdout.write(render_table(found))
