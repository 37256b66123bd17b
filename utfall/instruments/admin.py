from typing import Any

from django.contrib import admin

from utfall.instruments.access import EDIT_SHARED_INSTRUMENTS
from utfall.instruments.models import Instrument, InstrumentVersion, Option, Question


class SharedInstrumentAdmin(admin.ModelAdmin):
    """Instruments are shared by every municipality: changing them in the admin needs the same
    named permission as the editor, whatever model permissions a staff account holds."""

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return request.user.has_perm(EDIT_SHARED_INSTRUMENTS) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return request.user.has_perm(EDIT_SHARED_INSTRUMENTS) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return request.user.has_perm(EDIT_SHARED_INSTRUMENTS) and super().has_delete_permission(request, obj)


@admin.register(Instrument)
class InstrumentAdmin(SharedInstrumentAdmin):
    list_display = ["code", "name"]


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["position", "code", "text", "condition_question", "condition_options"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return obj is None or not obj.is_read_only


@admin.register(InstrumentVersion)
class InstrumentVersionAdmin(SharedInstrumentAdmin):
    list_display = ["__str__", "status", "published_on"]
    inlines = [QuestionInline]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return (obj is None or not obj.is_read_only) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return (obj is None or not obj.is_read_only) and super().has_delete_permission(request, obj)


class PartOfVersionAdmin(SharedInstrumentAdmin):
    """A question or option of a published version is frozen with it: the admin shows it
    read-only instead of failing on save (issue 17 point 16)."""

    def _frozen(self, obj: Any) -> bool:
        return obj is not None and obj._version().is_read_only

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return not self._frozen(obj) and super().has_delete_permission(request, obj)


@admin.register(Option)
class OptionAdmin(PartOfVersionAdmin):
    list_display = ["__str__", "label", "positive", "counts"]
