"""GET /api/v1/comparisons: the same comparison as ``utfall compare``, for the caller's scope."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, cast

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from utfall.comparisons.access import split_scope
from utfall.comparisons.indicators import UnknownIndicator
from utfall.comparisons.queries import BadQuery
from utfall.comparisons.services import compare
from utfall.organisations.models import Municipality

router = Router(tags=["jämförelser"])


class ComparisonQuery(Schema):
    indicator: str
    from_: dt.date = Field(alias="from")
    to: dt.date
    by: Literal["provider", "service", "unit", "sex", "age_group"] = "provider"
    filter: list[str] = []
    adjust: bool = False
    format: Literal["json", "csv"] = "json"


@router.get("", response=dict[str, Any], summary="Jämför grupper på en indikator")
def comparisons(request: HttpRequest, query: Query[ComparisonQuery]) -> Any:
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
            date_from=query.from_,
            date_to=query.to,
            by=query.by,
            filters=filters,
            scope=scope,
            adjust=query.adjust,
        )
    except (UnknownIndicator, BadQuery) as exc:
        raise HttpError(400, str(exc)) from None
    if query.format == "csv":
        return HttpResponse(result.as_csv(), content_type="text/csv; charset=utf-8")
    return result.as_json()
