"""GET /api/v1/comparisons: the same comparison as ``utfall compare``, for the caller's scope."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, cast

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from utfall.comparisons.access import aggregate_scope, split_scope
from utfall.comparisons.indicators import UnknownIndicator
from utfall.comparisons.queries import BadQuery
from utfall.comparisons.services import compare
from utfall.organisations.models import Municipality

router = Router(tags=["jämförelser"])


class ComparisonQuery(Schema):
    # Optional here so that who may ask is answered first (403 before 422; issue 17 point 18).
    indicator: str | None = Field(None, description="Indikatorns kod, t.ex. satisfied (krävs)")
    from_: dt.date | None = Field(
        None, alias="from",
        description="Standard: ett år före to. Perioden visas som en hel kalendermånad, ett kvartal, ett halvår, "
        "ett kalenderår eller flera hela kalenderår; andra datum avrundas till en sådan period och svaret säger "
        "det i period_note (issue 10.6, docs/disclosure.md).",
    )  # fmt: skip
    to: dt.date | None = Field(None, description="Standard: i dag (se from om hela perioder)")
    by: Literal["provider", "service", "unit", "sex", "age_group"] = "provider"
    filter: list[str] = []
    adjust: bool = False
    #: A goal rate (0–1): each row then carries P(true rate below it), ``p_below_goal``.
    goal: float | None = None
    format: Literal["json", "csv"] = "json"


@router.get("", response=dict[str, Any], summary="Jämför grupper på en indikator")
def comparisons(request: HttpRequest, query: Query[ComparisonQuery]) -> Any:
    aggregate_scope(request.user)  # refuses a role without aggregates before the query is read
    if not query.indicator:
        raise HttpError(422, "indicator saknas: ange en indikators kod, t.ex. indicator=satisfied")
    date_to = query.to or timezone.localdate()
    date_from = query.from_ or (date_to - dt.timedelta(days=365))
    requested = {}
    for item in query.filter:
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise HttpError(400, "filter ska ha formen dimension=värde")
        requested[key] = value
    # The scope decides which rows are shown, never the reference they are judged against.
    filters, scope = split_scope(request.user, requested)
    try:
        # split_scope above refused a user without a municipality.
        result = compare(
            municipality=cast(Municipality, request.user.municipality),  # type: ignore[union-attr]
            indicator=query.indicator,
            date_from=date_from,
            date_to=date_to,
            by=query.by,
            filters=filters,
            scope=scope,
            adjust=query.adjust,
            goal=query.goal,
        )
    except (UnknownIndicator, BadQuery) as exc:
        raise HttpError(400, str(exc)) from None
    if query.format == "csv":
        return HttpResponse(result.as_csv(), content_type="text/csv; charset=utf-8")
    return result.as_json()
