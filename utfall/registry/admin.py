from django.contrib import admin

from utfall.core.admin_forms import NoIdentityNumbersForm
from utfall.registry.models import Contract, Intervention, Provider, Service


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "intensity", "target_group"]


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = NoIdentityNumbersForm
    list_display = ["name", "provider_id", "ownership", "org_number", "municipality"]
    list_filter = ["municipality", "ownership"]
    search_fields = ["name", "provider_id", "org_number"]


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    form = NoIdentityNumbersForm
    list_display = ["contract_id", "provider", "form", "valid_from", "valid_to"]
    list_filter = ["municipality", "form"]
    search_fields = ["contract_id", "provider__name"]
    autocomplete_fields = ["provider"]
    filter_horizontal = ["services"]


@admin.register(Intervention)
class InterventionAdmin(admin.ModelAdmin):
    """Read-only here: interventions come from imports or the caseworker's form."""

    list_display = ["intervention_id", "service", "provider", "unit", "started_on", "ended_on"]
    list_filter = ["municipality", "service", "unit"]
    search_fields = ["intervention_id"]
    readonly_fields = [
        "client",
    ]
    list_select_related = ["service", "provider", "unit"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
