from __future__ import annotations

from django.urls import path

from utfall.procurement import views

app_name = "procurement"
urlpatterns = [
    path("", views.contracts, name="contracts"),
    path("simulering/", views.simulate, name="simulate"),
    path("kostnad-per-gott-utfall/", views.cost_page, name="costs"),
    path("avrakning/<int:pk>/", views.statement, name="statement"),
    path("avrakning/<int:pk>/godkann/", views.statement_approve, name="statement_approve"),
    path("avrakning/<int:pk>/ratta/", views.statement_correct, name="statement_correct"),
    path("avrakning/<int:pk>/xlsx/", views.statement_download, name="statement_download"),
    path("utforare/", views.provider_home, name="provider_home"),
    path("utforare/redovisa/", views.provider_report, name="provider_report"),
    path("utforare/svara/", views.provider_respond, name="provider_respond"),
    path("<str:contract_id>/", views.contract, name="contract"),
    path("<str:contract_id>/avrakning/", views.statement_create, name="statement_create"),
]
