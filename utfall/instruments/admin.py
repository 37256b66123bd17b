from django.contrib import admin

from utfall.instruments.models import Instrument, InstrumentVersion, Option, Question


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["position", "code", "text", "condition_question", "condition_options"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return obj is None or not obj.is_read_only


@admin.register(InstrumentVersion)
class InstrumentVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "published_on"]
    inlines = [QuestionInline]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return obj is None or not obj.is_read_only


@admin.register(Option)
class OptionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "label", "positive", "counts"]
