"""The results forms' select lists (``PlainSelect``): the markup a page has always had, and the
same options, selection and escaping as Django's own ``Select``."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from utfall.results.forms import PlainSelect

CHOICES: list[tuple[Any, Any]] = [
    ("", _("Alla")),
    ("P1", 'A & B <script>"q" \'s'),
    (3, mark_safe("<b>redan säker</b>")),  # a safe label is not escaped twice
    (None, "inget värde"),
    ("P1", "samma värde igen"),
    ("G", [("g1", "ett"), ("g2", "två & 2"), (None, "inget i gruppen")]),
    ("", [("h1", "grupp utan namn")]),
    ("Ö&<", "Åäö \u00a0 ”citat”"),
]
VALUES: list[Any] = ["P1", None, "", "g2", 3, ["P1"], "Ö&<", "saknas", "None", "h1"]


def _as_before(widget: forms.Select, name: str, value: Any) -> str:
    """The markup of PlainSelect as written on 2026-12-03 (format_html and flatatt per option)."""
    context = widget.get_context(name, value, None)["widget"]
    parts = [format_html('<select name="{}"{}>', context["name"], flatatt(context["attrs"]))]
    for group_name, options, _index in context["optgroups"]:
        if group_name:
            parts.append(format_html('\n  <optgroup label="{}">', group_name))
        parts += [format_html('\n  <option value="{}"{}>{}</option>', str(o["value"]), flatatt(o["attrs"]), o["label"])
                  for o in options]  # fmt: skip
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


class _Options(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.options: list[list[Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "option":
            found = dict(attrs)
            self.options.append([found.get("value"), "selected" in found, ""])

    def handle_data(self, data: str) -> None:
        if self.options and data.strip():
            self.options[-1][2] += data


def _options(markup: str) -> list[list[Any]]:
    parser = _Options()
    parser.feed(markup)
    return parser.options


@pytest.mark.parametrize("value", VALUES)
def test_a_select_list_is_written_as_before_and_means_what_djangos_means(value: Any) -> None:
    attrs = {"id": "id_provider", "class": "val"}
    ours = PlainSelect(choices=CHOICES, attrs=attrs).render("provider", value)
    assert ours == _as_before(PlainSelect(choices=CHOICES, attrs=attrs), "provider", value)
    assert _options(ours) == _options(forms.Select(choices=CHOICES, attrs=attrs).render("provider", value))
    assert "<script>" not in ours and "&lt;script&gt;" in ours
    assert "<b>redan säker</b>" in ours


def test_a_form_with_a_municipalitys_providers_lists_them_all() -> None:
    choices = [("", "Alla")] + [(f"P{i:04d}", f"Utförare {i} & söner") for i in range(750)]
    markup = PlainSelect(choices=choices).render("provider", "P0003")
    options = _options(markup)
    assert len(options) == 751
    assert [o for o in options if o[1]] == [["P0003", True, "Utförare 3 & söner"]]
