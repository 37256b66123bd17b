from __future__ import annotations

from django.urls import path

from utfall.instruments import views

app_name = "instruments"
urlpatterns = [
    path("instrument/", views.index, name="index"),
    path("instrument/nytt-lokalt/", views.create_instrument, name="create_instrument"),
    path("instrument/<slug:code>/ny-version/", views.create_version, name="create_version"),
    path("instrument/<slug:code>/<int:number>/", views.version_detail, name="version"),
    path("instrument/<slug:code>/<int:number>/redigera/", views.edit, name="edit"),
    path("instrument/<slug:code>/<int:number>/redigera/text/", views.edit_text, name="edit_text"),
    path("instrument/<slug:code>/<int:number>/redigera/ny-fraga/", views.edit_question, name="new_question"),
    path(
        "instrument/<slug:code>/<int:number>/redigera/fraga/<slug:question>/",
        views.edit_question,
        name="question",
    ),
    path(
        "instrument/<slug:code>/<int:number>/redigera/fraga/<slug:question>/<slug:action>/",
        views.question_action,
        name="question_action",
    ),
    path("instrument/<slug:code>/<int:number>/ta-bort/", views.delete_draft, name="delete_draft"),
    path("instrument/<slug:code>/<int:number>/publicera/", views.publish, name="publish"),
    path("metodstod/", views.method, name="method"),
    path("metodstod/<slug:code>/", views.guidance, name="guidance"),
]
