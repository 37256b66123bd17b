"""Two-factor sign-in (TOTP, django-otp) for every role that sees individual data.

After the password, a user who must have a second factor is sent to enter the six-digit code
from an authenticator app, or, the first time, to enrol one (a QR code drawn as SVG on the
server; no outside service). Until then every other page answers with that redirect and the
API with 401. Who must: caseworkers and unit managers (case data), auditors (the audit log),
staff (the admin shows records). ``UTFALL_TWO_FACTOR=false`` turns it off (development mode's
default); a sign-in through OpenID Connect counts as two factors when the identity provider
says so and ``UTFALL_OIDC_TRUST_MFA`` is on (docs/access.md).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, cast

import segno
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from utfall.organisations.access import needs_second_factor

Handler = Callable[[HttpRequest], HttpResponse]
OIDC_MFA = "utfall_oidc_mfa"
#: Paths a signed-in user without a second factor may still reach.
OPEN_PREFIXES = ("/tvastegs/", "/logga-ut/", "/static/", "/i18n/", "/oidc/")


def required_for(request: HttpRequest) -> bool:
    """Whether this signed-in session still lacks the second factor it needs."""
    user = request.user
    if not settings.UTFALL_TWO_FACTOR or not user.is_authenticated or not needs_second_factor(user):
        return False
    if getattr(user, "is_verified", lambda: False)():
        return False
    return not (settings.UTFALL_OIDC_TRUST_MFA and request.session.get(OIDC_MFA))


def second_factor_required(get_response: Handler) -> Handler:
    def middleware(request: HttpRequest) -> HttpResponse:
        if required_for(request) and not request.path.startswith(OPEN_PREFIXES):
            if request.path.startswith("/api/"):
                import json

                body = {
                    "type": "about:blank",
                    "title": _("Tvåstegsverifiering krävs"),
                    "status": 401,
                    "detail": _("Logga in med din andra faktor, eller använd en API-nyckel."),
                }
                return HttpResponse(json.dumps(body, ensure_ascii=False), status=401,
                                    content_type="application/problem+json")  # fmt: skip
            target = "twofactor_verify" if _device(request.user) else "twofactor_enrol"
            return redirect(f"{reverse(target)}?next={request.get_full_path()}")
        return get_response(request)

    return middleware


def _device(user: Any, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


class CodeForm(forms.Form):
    otp_token = forms.CharField(
        label=gettext_lazy("Engångskod"),
        help_text=gettext_lazy("Sex siffror från autentiseringsappen i din telefon."),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, device: TOTPDevice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_otp_token(self) -> str:
        token = self.cleaned_data["otp_token"].strip().replace(" ", "")
        allowed, _data = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError(_("För många felaktiga koder. Vänta en stund och försök igen."))
        if not token.isdigit() or not self.device.verify_token(token):
            raise forms.ValidationError(_("Koden stämmer inte. Ange den kod appen visar nu."))
        return token


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("home")


@require_http_methods(["GET", "POST"])
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    device = _device(request.user)
    if device is None:
        return redirect(f"{reverse('twofactor_enrol')}?next={_next(request)}")
    form = CodeForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        otp_login(request, device)
        return redirect(_next(request))
    status = 422 if form.is_bound else 200
    return render(
        request, "core/twofactor_verify.html", {"form": form, "next": _next(request)}, status=status
    )


@require_http_methods(["GET", "POST"])
@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    """First sign-in: make a device, show its QR code and key, confirm it with a code."""
    if _device(request.user) is not None:  # one device; another needs an administrator
        return redirect(f"{reverse('twofactor_verify')}?next={_next(request)}")
    device = _device(request.user, confirmed=False) or TOTPDevice.objects.create(
        user=request.user, name="utfall", confirmed=False
    )
    form = CodeForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        otp_login(request, device)
        return redirect(_next(request))
    url = cast(str, device.config_url)
    qr = segno.make(url, error="m").svg_data_uri(
        scale=5, dark="#000", light="#fff", title=_("QR-kod för autentiseringsappen")
    )
    secret = base64.b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "next": _next(request),
        "qr": qr,
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }
    return render(request, "core/twofactor_enrol.html", context, status=422 if form.is_bound else 200)
