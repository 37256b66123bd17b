from django.contrib import admin

from utfall.core import audit
from utfall.core.admin_forms import MunicipalityFixedAdmin, NoIdentityNumbersForm
from utfall.core.models import AuditEntry
from utfall.registry.models import Contract, ContractTarget, Intervention, Provider, Service


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "intensity", "target_group"]


@admin.register(Provider)
class ProviderAdmin(MunicipalityFixedAdmin, admin.ModelAdmin):  # type: ignore[misc]
    form = NoIdentityNumbersForm
    list_display = ["name", "provider_id", "ownership", "org_number", "municipality"]
    list_filter = ["municipality", "ownership"]
    search_fields = ["name", "provider_id", "org_number"]


class ContractTargetInline(admin.TabularInline):
    model = ContractTarget
    extra = 1


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    form = NoIdentityNumbersForm
    list_display = [
        "contract_id",
        "provider",
        "form",
        "valid_from",
        "valid_to",
        "price",
        "price_unit",
        "manager",
    ]
    list_filter = ["municipality", "form", "price_unit"]
    search_fields = ["contract_id", "provider__name", "manager"]
    inlines = [ContractTargetInline]
    autocomplete_fields = ["provider"]
    filter_horizontal = ["services"]


@admin.register(Intervention)
class InterventionAdmin(admin.ModelAdmin):
    """Read-only here: interventions come from imports or the caseworker's form. Individual
    data: every list and view is audited, and staff see only their own municipality's."""

    list_display = ["intervention_id", "service", "provider", "unit", "started_on", "ended_on"]
    list_filter = ["municipality", "service", "unit"]
    search_fields = ["intervention_id"]
    readonly_fields = [
        "client",
    ]
    list_select_related = ["service", "provider", "unit"]

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(municipality_id=request.user.municipality_id)

    def changelist_view(self, request, extra_context=None):  # type: ignore[no-untyped-def]
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            shown = [(i.municipality_id, i.intervention_id) for i in changelist.result_list]
            audit.record_records(request, action=AuditEntry.Action.LIST, kind="interventions", records=shown)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):  # type: ignore[no-untyped-def]
        response = super().change_view(request, object_id, form_url, extra_context)
        item = getattr(response, "context_data", {}).get("original")
        if item is not None:
            audit.record_records(request, action=AuditEntry.Action.VIEW, kind="interventions",
                                 records=[(item.municipality_id, item.intervention_id)])  # fmt: skip
        return response

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
