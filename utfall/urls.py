from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from utfall import views
from utfall.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("logga-in/", auth_views.LoginView.as_view(), name="login"),
    path("logga-ut/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("utfall.followups.urls")),
    path("insatser/", include("utfall.registry.urls")),
    path("resultat/", include("utfall.results.urls")),
    path("", include("utfall.instruments.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
