from __future__ import annotations

from django.urls import path

from utfall.oversight import views

app_name = "oversight"
urlpatterns = [
    path("avvikelser/", views.proposals, name="proposals"),
    path("avvikelser/prioritering/", views.priority, name="priority"),
    path("fordjupade-uppfoljningar/", views.cases, name="cases"),
    path("fordjupade-uppfoljningar/ny/", views.case_create, name="case_create"),
    path("fordjupade-uppfoljningar/<int:pk>/", views.case, name="case"),
    path("fordjupade-uppfoljningar/<int:pk>/status/", views.case_move, name="case_move"),
    path("fordjupade-uppfoljningar/<int:pk>/anteckning/", views.case_note, name="case_note"),
    path("fordjupade-uppfoljningar/<int:pk>/ansvarig/", views.case_owner, name="case_owner"),
    path("fordjupade-uppfoljningar/<int:pk>/dokument/", views.case_document, name="case_document"),
    path("fordjupade-uppfoljningar/<int:pk>/atgard/", views.case_action, name="case_action"),
    path("fordjupade-uppfoljningar/atgarder/<int:pk>/genomford/", views.action_done, name="action_done"),
    path("dokument/<int:pk>/", views.document, name="document"),
    path("utforare/<str:provider_id>/ny-uppfoljning/", views.record_create, name="record_create"),
    path("larm/", views.alert_list, name="alerts"),
    path("larm/<int:pk>/", views.alert_review, name="alert_review"),
]
