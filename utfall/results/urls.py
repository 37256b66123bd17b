from __future__ import annotations

from django.urls import path

from utfall.results import views

app_name = "results"
urlpatterns = [
    path("", views.index, name="index"),
    path("jamforelse/", views.comparison, name="comparison"),
    path("utveckling/", views.trends, name="trends"),
    path("kvinnor-och-man/", views.gender, name="gender"),
    path("uppfoljningsgrad/", views.coverage, name="coverage"),
    path("utfallsmatt/", views.outcomes, name="outcomes"),
    path("utforare/<str:provider_id>/", views.provider, name="provider"),
]
