from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm

from utfall.core.admin_forms import NoIdentityNumbersForm
from utfall.organisations.models import Committee, Municipality, Unit, User


@admin.register(Municipality)
class MunicipalityAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]


@admin.register(Committee)
class CommitteeAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "municipality", "unit"]
    list_filter = ["municipality"]
    search_fields = ["name", "code"]
    filter_horizontal = ["members"]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    form = NoIdentityNumbersForm
    list_display = ["name", "code", "municipality"]
    list_filter = ["municipality"]
    search_fields = ["name", "code"]


class UserForm(UserChangeForm):  # type: ignore[type-arg]
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        municipality = cleaned.get("municipality")
        municipality_id = municipality.pk if municipality is not None else None
        for unit in cleaned.get("units") or []:
            if unit.municipality_id != municipality_id:
                self.add_error("units", f"Enheten {unit.name} hör till en annan kommun än användaren.")
        provider = cleaned.get("provider")
        if provider is not None and provider.municipality_id != municipality_id:
            self.add_error("provider", "Utföraren hör till en annan kommun än användaren.")
        return cleaned


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserForm
    list_display = ["username", "first_name", "last_name", "municipality", "is_active"]
    list_filter = ["municipality", "groups", "is_active", "is_staff"]
    filter_horizontal = ["groups", "user_permissions", "units"]
    fieldsets = (
        # UserAdmin sets fieldsets; the stubs keep ModelAdmin's optional type.
        *cast("tuple[Any, ...]", BaseUserAdmin.fieldsets),
        ("Organisation", {"fields": ("municipality", "units", "provider")}),
    )
    autocomplete_fields = ["provider"]
