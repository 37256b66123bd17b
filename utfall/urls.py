from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from utfall import views
from utfall.api import api
from utfall.core import auditlog, oidc, twofactor

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("logga-in/", auth_views.LoginView.as_view(), name="login"),
    path("logga-ut/", auth_views.LogoutView.as_view(), name="logout"),
    path("oidc/authenticate/", oidc.begin, name="oidc_authentication_init"),
    path("oidc/callback/", oidc.callback, name="oidc_authentication_callback"),
    path("revision/", auditlog.audit_log, name="audit_log"),
    path("tvastegs/", twofactor.verify, name="twofactor_verify"),
    path("tvastegs/aktivera/", twofactor.enrol, name="twofactor_enrol"),
    path("", include("utfall.followups.urls")),
    path("insatser/", include("utfall.registry.urls")),
    path("resultat/", include("utfall.results.urls")),
    path("", include("utfall.oversight.urls")),
    path("rapporter/", include("utfall.reports.urls")),
    path("avtal/", include("utfall.procurement.urls")),
    path("", include("utfall.instruments.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
