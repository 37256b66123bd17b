"""The API's shared pieces, below the apps: authentication, the problem type and the guards.

Every error is a problem description (RFC 9457, ``application/problem+json``); no input
value is echoed back, so an identity number sent by mistake never appears in a response or
a log. Apps raise :class:`Problem` and call the guards; ``utfall/api.py`` builds the one
``NinjaAPI``, installs :func:`install_problem_handlers` and adds the apps' routers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer

from utfall.organisations.access import sees_cases

logger = logging.getLogger("utfall.api")
PROBLEM = "application/problem+json"
#: The largest offset a list endpoint takes: far past any list, and within every database's
#: integers (a 20-digit offset once gave a 500 on SQLite).
MAX_OFFSET = 10_000_000
#: How exactly an API token's ``last_used_at`` is kept (the admin shows it).
LAST_USED_PRECISION = dt.timedelta(minutes=1)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``; only the token's SHA-256 is stored."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from utfall.core.models import ApiToken

        digest = hashlib.sha256(token.encode()).hexdigest()
        found = (
            ApiToken.objects.select_related("user")
            .filter(token_hash=digest, revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if found is None:
            return None
        now = timezone.now()
        # To the minute: a write on every call cost each API request a transaction of its own
        # (issue 13 point 3, docs/performance.md "Load and faults").
        if found.last_used_at is None or now - found.last_used_at >= LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        return found.user


class Problem(Exception):
    """An error answered as a problem description."""

    def __init__(self, status: int, title: str, detail: str = "", errors: list[dict[str, str]] | None = None):
        super().__init__(title)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors or []


def problem_response(
    request: HttpRequest,
    status: int,
    title: str,
    detail: str = "",
    errors: list[dict[str, str]] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "instance": request.path}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM)


# Guards shared by the apps' endpoints ----------------------------------------------------------


def require_case_access(request: HttpRequest) -> None:
    if not sees_cases(request.user):
        raise Problem(403, "Ingen behörighet", "Din roll ger inte tillgång till enskilda ärenden.")


KEY_DETAIL = "Ange rubriken Idempotency-Key (högst 200 tecken), ett nytt unikt värde per ny post."


def require_key(key: str | None) -> str:
    if not key or len(key) > 200:
        raise Problem(400, "Idempotency-Key saknas", KEY_DETAIL)
    return key


def with_key_error(problem: Problem, key: str | None) -> Problem:
    """``problem`` (a body's errors) with a missing or too long Idempotency-Key added, so a
    client learns every error of its request at once (issue 17 point 18)."""
    if not key or len(key) > 200:
        problem.errors = [*problem.errors, {"pointer": "/header/Idempotency-Key", "detail": KEY_DETAIL}]
    return problem


# Text the database cannot hold ------------------------------------------------------------------


def _nul_pointers(value: Any, pointer: str = "") -> list[str]:
    """JSON pointers of every string (key or value) in ``value`` that holds a NUL character."""
    if isinstance(value, str):
        return [pointer or "/"] if "\x00" in value else []
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{pointer}/{key}"
            if "\x00" in str(key):
                found.append(pointer or "/")
            found.extend(_nul_pointers(item, here))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_nul_pointers(item, f"{pointer}/{index}"))
    return found


def _refuse_nul(pointers: list[str]) -> None:
    if pointers:
        raise Problem(
            422,
            "Ogiltig begäran",
            "Texten innehåller ett NUL-tecken (\\u0000), som inte får förekomma.",
            [{"pointer": p.replace("\x00", "\\u0000"), "detail": "otillåtet tecken (NUL)"} for p in pointers],
        )


class StrictParser(Parser):
    """The JSON parser, refusing text with NUL characters in the body with 422 (the query string and
    the path: ``core.middleware.no_nul``).

    PostgreSQL's text columns cannot hold NUL (the write failed with 500; SQLite stored it),
    and no field of the interchange or the API has a use for it (issue 16, schemathesis)."""

    def parse_body(self, request: HttpRequest) -> Any:
        data = super().parse_body(request)
        _refuse_nul(_nul_pointers(data))
        return data


def mark_key_required(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI schema with the Idempotency-Key header marked required: every create
    refuses a request without it (400), though the parameter is optional in Python so that
    the refusal is that clear problem rather than a generic validation error."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()) if isinstance(operation, dict) else ():
                if parameter.get("in") == "header" and parameter.get("name") == "Idempotency-Key":
                    parameter["required"] = True
                    parameter.setdefault("description", KEY_DETAIL)
    return schema


def swedish(error: Mapping[str, Any]) -> str:
    """A Swedish message for one of pydantic's validation errors (django-ninja's own checks of
    the request's schema); an unknown kind keeps pydantic's English text."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in ("missing", "missing_argument"):
        return "krävs"
    if kind.startswith("int_") or kind == "int_type":
        return "måste vara ett heltal"
    if kind.startswith(("float_", "decimal_")):
        return "måste vara ett tal"
    if kind.startswith("bool_"):
        return "måste vara true eller false"
    if kind.startswith("date_") or kind.startswith("datetime_"):
        return "måste vara ett datum på formen ÅÅÅÅ-MM-DD"
    if kind.startswith("string_") and kind not in ("string_too_short", "string_too_long"):
        return "måste vara en text"
    if kind in ("list_type", "tuple_type", "set_type"):
        return "måste vara en lista"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "måste vara ett objekt"
    if kind == "string_too_short":
        return f"måste ha minst {ctx.get('min_length', 1)} tecken"
    if kind == "string_too_long":
        return f"får ha högst {ctx.get('max_length')} tecken"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return (
            f"måste vara minst {bound}" if kind == "greater_than_equal" else f"måste vara större än {bound}"
        )
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        return f"får vara högst {bound}" if kind == "less_than_equal" else f"måste vara mindre än {bound}"
    if kind in ("literal_error", "enum"):
        return f"okänt värde (tillåtna: {ctx.get('expected', '')})".replace(" (tillåtna: )", "")
    if kind == "extra_forbidden":
        return "okänt fält"
    if kind == "json_invalid":
        return "ogiltig JSON"
    return str(error.get("msg", ""))


# Every error as a problem description -----------------------------------------------------------


def install_problem_handlers(api: NinjaAPI) -> None:
    """Answer every error of ``api`` as a problem description, never with a stack trace."""

    @api.exception_handler(Problem)
    def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
        return problem_response(request, exc.status, exc.title, exc.detail, exc.errors)

    @api.exception_handler(ValidationError)
    def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = []
        for error in exc.errors:
            location = [str(part) for part in error.get("loc", ()) if part != "payload"]
            errors.append({"pointer": "/" + "/".join(location), "detail": swedish(error)})
        return problem_response(request, 422, "Ogiltig begäran", "Begäran följer inte schemat.", errors)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = problem_response(
            request, 401, "Inte inloggad", "Ange en API-nyckel (Bearer) eller logga in."
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc.__cause__, Problem):  # ninja wraps the parser's refusal in a 400
            return _problem(request, exc.__cause__)
        return problem_response(request, exc.status_code, str(exc))

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem_response(
            request, 404, "Finns inte", "Posten finns inte, eller så har du inte behörighet till den."
        )

    @api.exception_handler(PermissionDenied)
    def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return problem_response(request, 403, "Ingen behörighet", str(exc))

    @api.exception_handler(Exception)
    def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        # The path holds ids only, never identity numbers.
        logger.exception("API error at %s", request.path)
        return problem_response(request, 500, "Internt fel", "Felet är loggat.")
