from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from utfall.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("logga-in/", auth_views.LoginView.as_view(), name="login"),
    path("logga-ut/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
