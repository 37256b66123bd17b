from __future__ import annotations

from django.urls import path

from utfall.instruments import views

app_name = "instruments"
urlpatterns = [
    path("instrument/", views.index, name="index"),
    path("instrument/pilot/", views.feedback, name="feedback"),
    path("instrument/<slug:code>/ny-version/", views.create_version, name="create_version"),
    path("instrument/<slug:code>/<int:number>/", views.version_detail, name="version"),
    path("instrument/<slug:code>/<int:number>/redigera/", views.edit, name="edit"),
    path("instrument/<slug:code>/<int:number>/forhandsvisning/", views.preview, name="preview"),
    path("instrument/<slug:code>/<int:number>/publicera/", views.publish, name="publish"),
    path("metodstod/", views.method, name="method"),
    path("metodstod/<slug:code>/", views.guidance, name="guidance"),
]
