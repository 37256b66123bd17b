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
