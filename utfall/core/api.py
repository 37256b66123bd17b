"""The API's shared pieces, below the apps: authentication, the problem type and the guards.

Every error is a problem description (RFC 9457, ``application/problem+json``); no input
value is echoed back, so an identity number sent by mistake never appears in a response or
a log. Apps raise :class:`Problem` and call the guards; ``utfall/api.py`` builds the one
``NinjaAPI``, installs :func:`install_problem_handlers` and adds the apps' routers.
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
from ninja.security import HttpBearer

from utfall.organisations.access import sees_cases

logger = logging.getLogger("utfall.api")
PROBLEM = "application/problem+json"
#: The largest offset a list endpoint takes: far past any list, and within every database's
#: integers (a 20-digit offset once gave a 500 on SQLite).
MAX_OFFSET = 10_000_000


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


# Guards shared by the apps' endpoints ----------------------------------------------------------


def require_case_access(request: HttpRequest) -> None:
    if not sees_cases(request.user):
        raise Problem(403, "Ingen behörighet", "Din roll ger inte tillgång till enskilda ärenden.")


def require_key(key: str | None) -> str:
    if not key or len(key) > 200:
        raise Problem(
            400,
            "Idempotency-Key saknas",
            "Ange rubriken Idempotency-Key (högst 200 tecken), ett nytt unikt värde per ny post.",
        )
    return key


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
            errors.append({"pointer": "/" + "/".join(location), "detail": str(error.get("msg", ""))})
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
