from django.contrib import admin

from utfall.core.admin_forms import NoIdentityNumbersForm
from utfall.procurement.models import DeviationResponse, PaymentRule, ProviderReport, Statement


@admin.register(PaymentRule)
class PaymentRuleAdmin(admin.ModelAdmin):
    form = NoIdentityNumbersForm
    list_display = [
        "name",
        "contract",
        "kind",
        "indicator",
        "share_percent",
        "amount",
        "min_coverage",
        "active",
    ]
    list_filter = ["municipality", "kind", "indicator", "active"]
    search_fields = ["name", "contract__contract_id"]
    autocomplete_fields = ["contract"]
    exclude = ["municipality"]  # taken from the contract


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    """Read-only: statements are made, approved and corrected on the contract's pages."""

    list_display = ["contract", "period_from", "period_to", "version", "status", "total", "approved_by"]
    list_filter = ["municipality", "status"]
    search_fields = ["contract__contract_id"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ProviderReport)
class ProviderReportAdmin(admin.ModelAdmin):
    list_display = ["provider", "indicator", "period_from", "period_to", "events", "n", "reported_by"]
    list_filter = ["municipality", "indicator"]


@admin.register(DeviationResponse)
class DeviationResponseAdmin(admin.ModelAdmin):
    list_display = ["provider", "indicator", "period_from", "period_to", "written_by", "written_at"]
    list_filter = ["municipality"]
