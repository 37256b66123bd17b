from __future__ import annotations

from django.urls import path

from utfall.registry import views

app_name = "registry"
urlpatterns = [
    path("ny/", views.intervention_create, name="intervention_create"),
    path("<int:pk>/", views.intervention, name="intervention"),
    path("<int:pk>/andra/", views.intervention_change, name="intervention_change"),
]
