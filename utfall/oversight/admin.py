from __future__ import annotations

from django.contrib import admin

from utfall.oversight.models import WebhookEndpoint, WebhookMessage


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "municipality", "url", "active")
    list_filter = ("active",)


@admin.register(WebhookMessage)
class WebhookMessageAdmin(admin.ModelAdmin):
    """The outbox, read-only: what was sent, when, and how it went."""

    list_display = (
        "message_id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "created_at",
        "delivered_at",
    )
    list_filter = ("status", "event_type")
    readonly_fields = [f.name for f in WebhookMessage._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
