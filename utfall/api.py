"""The one JSON API, versioned under /api/v1/ (django-ninja), with its OpenAPI schema.

Apps add their routers here (``api.add_router("/followups", router)``). Every error is a
problem description (RFC 9457, ``application/problem+json``); no input value is echoed
back, so an identity number sent by mistake never appears in a response or a log.
Authentication: a bearer token (``utfall api_token``) or the signed-in session (with CSRF).
The Swagger UI is off because it loads from a CDN; the schema is at /api/v1/openapi.json.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

logger = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


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
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
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


api = NinjaAPI(
    title="utfall API",
    version="1",
    description="Uppföljningar och insatser för den egna enhetens ärenden. Fel beskrivs enligt RFC 9457.",
    urls_namespace="api-v1",
    docs_url=None,
    auth=[TokenAuth(), SessionAuth()],
)


@api.exception_handler(Problem)
def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problem_response(request, exc.status, exc.title, exc.detail, exc.errors)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ()) if part != "payload"]
        errors.append({"pointer": "/" + "/".join(location), "detail": str(error.get("msg", ""))})
    return problem_response(request, 422, "Ogiltig begäran", "Begäran följer inte schemat.", errors)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem_response(request, 401, "Inte inloggad", "Ange en API-nyckel (Bearer) eller logga in.")
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
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
    logger.exception("API error at %s", request.path)  # the path holds ids only, never identity numbers
    return problem_response(request, 500, "Internt fel", "Felet är loggat.")


def _add_routers() -> None:
    from utfall.comparisons.api import router as comparisons
    from utfall.followups.api import router as followups
    from utfall.registry.api import router as interventions

    api.add_router("/interventions", interventions)
    api.add_router("/followups", followups)
    api.add_router("/comparisons", comparisons)

    from utfall.results import api as results

    api.add_router("/trends", results.trends_router)
    api.add_router("/gender", results.gender_router)
    api.add_router("/coverage", results.coverage_router)
    api.add_router("/outcomes", results.outcomes_router)
    api.add_router("/providers", results.providers_router)


_add_routers()
