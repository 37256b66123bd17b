from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.contrib.auth.models import Group

from utfall.core.admin_forms import MunicipalityFixedAdmin, NoIdentityNumbersForm
from utfall.organisations.models import Committee, Municipality, Role, Unit, User


class RoleChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    """Roles are groups named by their code; people read their Swedish names (Role's labels)."""

    def label_from_instance(self, obj: Group) -> str:
        return str(dict(Role.choices).get(obj.name, obj.name))


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
class UnitAdmin(MunicipalityFixedAdmin, admin.ModelAdmin):  # type: ignore[misc]
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


class UserAddForm(UserCreationForm):  # type: ignore[type-arg]
    """One form for a new user: name, e-mail, municipality, units and role at once (issue 17
    point 17), checked like a change (units and provider of the user's own municipality)."""

    roles = RoleChoiceField(
        queryset=Group.objects.filter(name__in=Role.values).order_by("name"),
        label="Roller",
        widget=forms.CheckboxSelectMultiple,
        help_text="Rollen styr vad användaren ser: socialsekreterare och enhetschef ser sina enheters ärenden.",
    )

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined,misc]
        model = User
        fields = ("username", "first_name", "last_name", "email", "municipality", "units")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        municipality = cleaned.get("municipality")
        municipality_id = municipality.pk if municipality is not None else None
        for unit in cleaned.get("units") or []:
            if unit.municipality_id != municipality_id:
                self.add_error("units", f"Enheten {unit.name} hör till en annan kommun än användaren.")
        return cleaned

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=commit)
        if commit:
            user.groups.set(self.cleaned_data["roles"])
        return user

    def _save_m2m(self) -> None:
        super()._save_m2m()  # type: ignore[misc]
        self.instance.groups.set(self.cleaned_data["roles"])


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserForm
    add_form = UserAddForm
    add_fieldsets = (
        (None, {"fields": ("username", "password1", "password2")}),
        ("Person", {"fields": ("first_name", "last_name", "email")}),
        ("Organisation och roll", {"fields": ("municipality", "units", "roles")}),
    )
    list_display = ["username", "first_name", "last_name", "municipality", "is_active"]
    list_filter = ["municipality", "groups", "is_active", "is_staff"]
    filter_horizontal = ["groups", "user_permissions", "units"]
    fieldsets = (
        # UserAdmin sets fieldsets; the stubs keep ModelAdmin's optional type.
        *cast("tuple[Any, ...]", BaseUserAdmin.fieldsets),
        ("Organisation", {"fields": ("municipality", "units", "provider")}),
    )
    autocomplete_fields = ["provider"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        if db_field.name == "groups":
            kwargs["form_class"] = RoleChoiceField
            kwargs.setdefault("label", "Roller")
        if db_field.name == "units":  # the model's field names are English ("Units", "Välj alla units")
            kwargs["widget"] = FilteredSelectMultiple("enheter", is_stacked=False)
            kwargs.setdefault("label", "Enheter")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        labels = {"municipality": "Kommun", "provider": "Utförare"}
        if db_field.name in labels:
            kwargs.setdefault("label", labels[db_field.name])
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
