from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from utfall.organisations.models import Municipality, Unit, User


@admin.register(Municipality)
class MunicipalityAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "municipality"]
    list_filter = ["municipality"]
    search_fields = ["name", "code"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "municipality", "is_active"]
    list_filter = ["municipality", "groups", "is_active", "is_staff"]
    filter_horizontal = ["groups", "user_permissions", "units"]
    fieldsets = (
        # UserAdmin sets fieldsets; the stubs keep ModelAdmin's optional type.
        *cast("tuple[Any, ...]", BaseUserAdmin.fieldsets),
        ("Organisation", {"fields": ("municipality", "units", "provider")}),
    )
    autocomplete_fields = ["provider"]
