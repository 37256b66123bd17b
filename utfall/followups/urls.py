from __future__ import annotations

from django.urls import path

from utfall.followups import views

app_name = "followups"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("historik/", views.history, name="history"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/ratta/", views.correct, name="correct"),
    path("ny/<int:pk>/", views.create, name="create"),
]
