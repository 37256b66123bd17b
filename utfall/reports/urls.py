from __future__ import annotations

from django.urls import path

from utfall.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("ny/", views.create, name="create"),
    path("mal/", views.targets, name="targets"),
    path("oppna-data/", views.open_data, name="open_data"),
    path("pilot/", views.pilot, name="pilot"),
    path("nationell-jamforelse/", views.national, name="national"),
    path("utforare/<str:provider_id>/resultatkort/", views.provider_card, name="provider_card"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/kommentar/", views.comment, name="comment"),
    path("<int:pk>/publicera/", views.publish, name="publish"),
    path("<int:pk>/ny-version/", views.correct, name="correct"),
]
