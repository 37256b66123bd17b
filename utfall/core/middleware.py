"""Middleware that holds for every request: no cached copies of pages, session timeouts, a
body limit, refused accesses in the audit log, and no technical error pages for strangers.

Each is a plain function-style middleware (Django's ``get_response`` convention), listed in
``settings.MIDDLEWARE``; docs/access.md and docs/deploy.md say why each is there.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

Handler = Callable[[HttpRequest], HttpResponse]

LOGIN_AT = "utfall_login_at"
SEEN_AT = "utfall_seen_at"
#: The "last seen" time is written at most this often, so that a session is not saved on every request.
SEEN_RESOLUTION = 60


def no_store(get_response: Handler) -> Handler:
    """``Cache-Control: no-store`` on every response Django makes (pages, API, downloads): they
    may carry individual data, and no browser or proxy cache may keep a copy. Static files are
    answered by whitenoise above this and keep their long cache lifetimes."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        add_never_cache_headers(response)
        return response

    return middleware


def body_limit(get_response: Handler) -> Handler:
    """413 for a request body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``, before it is read; a
    file upload (multipart) to one of the pages that take documents (``UTFALL_UPLOAD_PATHS``)
    may carry ``UTFALL_DOCUMENT_MAX_BYTES`` more (the form checks each file again)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if (
            limit is not None
            and request.content_type == "multipart/form-data"
            and request.path.startswith(tuple(getattr(settings, "UTFALL_UPLOAD_PATHS", ())))
        ):
            limit += int(getattr(settings, "UTFALL_DOCUMENT_MAX_BYTES", 0))
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return _too_large(request, limit)
        return get_response(request)

    return middleware


def no_nul(get_response: Handler) -> Handler:
    """A NUL character in the address, the query string or a posted form is refused before any
    view runs: PostgreSQL's text cannot hold it (a filter with one ended in a 500 there) and no
    field has a use for it. The path gets 404 (nothing can live there); a query or form value 400,
    in the API 422 with the parameter named. The API's JSON body is checked by its parser."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path:
            return HttpResponse(_("Sidan finns inte."), status=404, content_type="text/plain; charset=utf-8")
        names = [k for k, values in request.GET.lists() if "\x00" in k or any("\x00" in v for v in values)]
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            names += [k for k, values in request.POST.lists() if any("\x00" in v for v in values)]
        if not names:
            return get_response(request)
        detail = _("Adressen eller formuläret innehåller ett otillåtet tecken (NUL).")
        if request.path.startswith("/api/"):
            from utfall.core.api import problem_response

            errors = [
                {"pointer": "/" + k.replace("\x00", "\\u0000"), "detail": "otillåtet tecken (NUL)"}
                for k in names
            ]
            return problem_response(request, 422, _("Ogiltig begäran"), detail, errors)
        return HttpResponse(detail, status=400, content_type="text/plain; charset=utf-8")

    return middleware


def _too_large(request: HttpRequest, limit: int) -> HttpResponse:
    detail = _("Begäran är större än %(mb).1f MB och togs inte emot.") % {"mb": limit / 1024 / 1024}
    if request.path.startswith("/api/"):
        import json

        body = {"type": "about:blank", "title": _("För stor begäran"), "status": 413, "detail": detail}
        return HttpResponse(
            json.dumps(body, ensure_ascii=False), status=413, content_type="application/problem+json"
        )
    return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")


def plain_error_pages(get_response: Handler) -> Handler:
    """In development mode Django answers 404 and 500 with technical pages (URL patterns,
    settings, a traceback). Only a signed-in staff user sees them; everyone else gets the
    ordinary page, so a demo server reachable from elsewhere tells a stranger nothing."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if not settings.DEBUG or response.status_code not in (404, 500):
            return response
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            return response
        template = "404.html" if response.status_code == 404 else "500.html"
        return render(request, template, status=response.status_code)

    return middleware


def session_timeouts(get_response: Handler) -> Handler:
    """Sign the user out after ``UTFALL_SESSION_IDLE_MINUTES`` without a request, and at the
    latest ``UTFALL_SESSION_HOURS`` after signing in, whatever happened in between."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            session = request.session
            login_at = session.get(LOGIN_AT)
            seen_at = session.get(SEEN_AT)
            if login_at is None:  # a session from before this rule: starts now
                session[LOGIN_AT] = login_at = now
            idle = seen_at is not None and now - seen_at > settings.UTFALL_SESSION_IDLE_MINUTES * 60
            too_old = now - login_at > settings.UTFALL_SESSION_HOURS * 3600
            if idle or too_old:
                logout(request)
                messages.info(
                    request,
                    _("Du har loggats ut efter %(n)s minuter utan aktivitet. Logga in igen.")
                    % {"n": settings.UTFALL_SESSION_IDLE_MINUTES}
                    if idle
                    else _("Du har loggats ut efter %(n)s timmar. Logga in igen.")
                    % {"n": settings.UTFALL_SESSION_HOURS},
                )
            elif seen_at is None or now - seen_at > SEEN_RESOLUTION:
                session[SEEN_AT] = now
        return get_response(request)

    return middleware


@receiver(user_logged_in)
def _remember_sign_in(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[LOGIN_AT] = now
        request.session[SEEN_AT] = now


def audit_refusals(get_response: Handler) -> Handler:
    """Every refused request of a signed-in user (403, from a page or the API) goes to the
    audit log with its path: an auditor sees who tried what they may not."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if response.status_code == 403:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                from utfall.core import audit

                audit.refused(request, user=user)
        return response

    return middleware
