"""OpenID Connect single sign-on (mozilla-django-oidc), on when ``UTFALL_OIDC`` is.

The municipality's identity provider proves who signs in; utfall decides what they may do.
An account must exist (made by an administrator, with its municipality, units and roles);
the claim ``UTFALL_OIDC_USERNAME_CLAIM`` must equal its user name. No account is ever made
from a token. When the ID token's ``amr`` names a second factor and
``UTFALL_OIDC_TRUST_MFA`` is on, the sign-in counts as two-factor (utfall.core.twofactor).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from utfall.core.twofactor import OIDC_MFA

#: ``amr`` values (RFC 8176) that mean more than a password.
MFA_METHODS = frozenset({"mfa", "otp", "hwk", "swk", "sc", "fpt", "face", "pin"})


class Backend(OIDCAuthenticationBackend):
    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        if not settings.UTFALL_OIDC or request is None:
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token: str, **kwargs: Any) -> Any:
        """The library checks signature and nonce; the audience and the issuer are checked here."""
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token for another client")
        issuer = settings.UTFALL_OIDC_ISSUER
        if issuer and payload.get("iss") != issuer:
            raise SuspiciousOperation("ID token from another issuer")
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get(settings.UTFALL_OIDC_USERNAME_CLAIM))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        username = claims.get(settings.UTFALL_OIDC_USERNAME_CLAIM)
        return self.UserModel.objects.filter(username=username, is_active=True)

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        user = super().get_or_create_user(access_token, id_token, payload)
        amr = payload.get("amr") or []
        if user is not None and isinstance(amr, list) and MFA_METHODS & set(map(str, amr)):
            self.request.session[OIDC_MFA] = True
        return user


def begin(request: HttpRequest) -> HttpResponse:
    if not settings.UTFALL_OIDC:
        raise Http404
    return OIDCAuthenticationRequestView.as_view()(request)


def callback(request: HttpRequest) -> HttpResponse:
    if not settings.UTFALL_OIDC:
        raise Http404
    return OIDCAuthenticationCallbackView.as_view()(request)
