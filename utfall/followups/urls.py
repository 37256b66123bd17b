from __future__ import annotations

from django.urls import path

from utfall.followups import instrument_views, views

app_name = "followups"
urlpatterns = [
    path("uppfoljningar/", views.worklist, name="worklist"),
    path("uppfoljningar/historik/", views.history, name="history"),
    path("uppfoljningar/<int:pk>/", views.detail, name="detail"),
    path("uppfoljningar/<int:pk>/ratta/", views.correct, name="correct"),
    path("uppfoljningar/ny/<int:pk>/", views.create, name="create"),
    # Follow-up pages reached from the instrument editor keep the editor's addresses.
    path("instrument/pilot/", instrument_views.feedback, name="instrument_feedback"),
    path(
        "instrument/<slug:code>/<int:number>/forhandsvisning/",
        instrument_views.preview,
        name="instrument_preview",
    ),
]
