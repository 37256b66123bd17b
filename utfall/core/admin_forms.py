"""Admin forms that refuse identity numbers in IDs and names (DESIGN.md invariant 1)."""

from __future__ import annotations

from typing import Any

from django import forms

from utfall.core.identity import IDENTITY_NUMBER_REFUSED, contains_identity_number


class NoIdentityNumbersForm(forms.ModelForm):  # type: ignore[type-arg]
    """Every text field is checked; ``allowed_identity_fields`` names the exceptions (a sole
    trader's organisation number is the owner's personnummer, and public)."""

    allowed_identity_fields: tuple[str, ...] = ("org_number",)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, value in list(cleaned.items()):
            if name in self.allowed_identity_fields or not isinstance(value, str):
                continue
            if contains_identity_number(value):
                self.add_error(name, f"Fältet {IDENTITY_NUMBER_REFUSED}.")
        return cleaned


class MunicipalityFixedAdmin:
    """An admin mixin: a saved row's municipality cannot be changed (a unit or provider keeps the
    tenant it was made in). The maintained counts, the interventions and every user's scope are
    keyed by the municipality and the unit or provider together; moving one to another
    municipality would leave its counts and interventions under the old one and show them to the
    new one's users (found by the second reader of 2026-12-06). A new row chooses it as before."""

    def get_readonly_fields(self, request: Any, obj: Any = None) -> list[str] | tuple[str, ...]:
        fields = super().get_readonly_fields(request, obj)  # type: ignore[misc]
        return [*fields, "municipality"] if obj is not None and obj.pk else fields  # type: ignore[no-any-return]
