"""The catalog entry's form (the 13 elements and the info items) and the API's body.

Each input is named by the API's own path to the field it fills (`share.conditions`,
`items.1.share_type`), so a rule the catalog refuses (C1–C5, F3) comes back at the very input
it names. The items are rows; rows left empty are not sent, and the form is shown again with
the rows sent first, so an item's index in the API's answer is its row on the page.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData

from services.portal.forms import text, texts, without_empty, words

ITEM_COLUMNS = ("name", "code", "data_type", "length", "share_type", "identifies_subject",
                "is_base_item", "legal_basis")
BLANK_ROWS = 3
MAX_ROWS = 500  # the catalog's own limit on an entry's items
_ROW = re.compile(r"^items\.(\d{1,3})\.")
# The inputs besides the items' rows, each named as the API names its field; what names
# none of them (a whole element) is told above the form.
INPUTS = ("classification.top", "classification.item", "classification.category",
          "classification.subcategory", "name", "abstract", "format.kind",
          "format.sub_format", "items", "share.type", "share.conditions",
          "share.permitted_uses", "share.legal_basis.kind", "share.legal_basis.title",
          "share.legal_basis", "share.channel", "share.method_types", "share.methods",
          "open.conditions", "update_cycle",
          "related_codes", "classified", "reason")


def entry_body(form: FormData) -> dict[str, Any]:
    """The entry (EntrySpec) the form declares, as typed: what is left empty is not sent,
    so the API says what is missing."""
    basis = legal_basis(form, "share.legal_basis")
    return without_empty({
        "classification": without_empty({
            name: text(form, f"classification.{name}")
            for name in ("top", "item", "category", "subcategory")}),
        "name": text(form, "name"), "abstract": text(form, "abstract"),
        "format": without_empty({"kind": text(form, "format.kind"),
                                 "sub_format": text(form, "format.sub_format")}),
        "items": item_rows(form),
        "share": {
            **without_empty({"type": text(form, "share.type"),
                             "conditions": text(form, "share.conditions"),
                             "permitted_uses": texts(form, "share.permitted_uses"),
                             "legal_basis": basis or None,
                             "channel": text(form, "share.channel"),
                             "method_types": texts(form, "share.method_types"),
                             "methods": texts(form, "share.methods")}),
            "sensitive": "share.sensitive" in form},
        "open": {"is_open": "open.is_open" in form,
                 **without_empty({"conditions": text(form, "open.conditions")})},
        "update_cycle": text(form, "update_cycle"),
        "related_codes": words(text(form, "related_codes")),
        "classified": "classified" in form,
    })


def item_rows(form: FormData) -> list[dict[str, Any]]:
    """The filled rows of the items' table, in their order on the page."""
    rows = sorted({int(found[1]) for key in form.keys() if (found := _ROW.match(key))})
    items = []
    for row in rows[:MAX_ROWS + BLANK_ROWS]:
        named = {column: text(form, f"items.{row}.{column}") for column in ITEM_COLUMNS[:5]}
        if not (named["name"] or named["code"]):
            continue
        # An item held back from an entry otherwise shared names its own basis (C2).
        basis = legal_basis(form, f"items.{row}.legal_basis")
        items.append({**without_empty(named), **({"legal_basis": basis} if basis else {}),
                      "identifies_subject": f"items.{row}.identifies_subject" in form,
                      "is_base_item": f"items.{row}.is_base_item" in form})
    return items


def legal_basis(form: FormData, name: str) -> dict[str, str]:
    """The legal basis typed at `name` (its kind and title), empty when neither was."""
    return without_empty({"kind": text(form, f"{name}.kind"),
                          "title": text(form, f"{name}.title")})


def inputs_of(spec: dict[str, Any]) -> tuple[str, ...]:
    """Every input of the form `spec` fills, its items' rows included."""
    rows = range(len(spec.get("items", [])) + BLANK_ROWS)
    return (*INPUTS, *(f"items.{row}.{column}" for row in rows for column in ITEM_COLUMNS))


def spec_of(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as the API answers it, as its form shows it."""
    return {name: entry.get(name) for name in (
        "classification", "name", "abstract", "format", "items", "share", "open",
        "update_cycle", "related_codes", "classified")}


NEW_ENTRY: dict[str, Any] = {
    "classification": {"top": "department"}, "format": {}, "items": [],
    "share": {"type": "conditional", "channel": "platform", "methods": [],
              "permitted_uses": [], "method_types": []},
    "open": {"is_open": False}, "related_codes": [], "classified": False,
}
