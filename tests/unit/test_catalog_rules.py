"""C1–C5 and the zone rule, checked without a database."""

from __future__ import annotations

import pytest

from services.catalog.exceptions import RuleViolation
from services.catalog.rules import check_entry
from shared.contracts import Zone
from shared.contracts.catalog import EntrySpec
from tests import factories


def spec(**changes: object) -> EntrySpec:
    return EntrySpec.model_validate({**factories.population_entry(), **changes})


def rule_broken(entry: EntrySpec, zone: Zone = Zone.external) -> tuple[str, str]:
    with pytest.raises(RuleViolation) as refused:
        check_entry(entry, zone)
    return refused.value.extensions["rule"], refused.value.extensions["field"]


def test_a_well_formed_population_resource_passes() -> None:
    check_entry(spec(), Zone.external)


def test_a_classified_entry_is_allowed_on_an_internal_node_only() -> None:
    check_entry(spec(classified=True), Zone.internal)
    assert rule_broken(spec(classified=True)) == ("F3", "classified")


def test_a_base_resource_must_be_shared_unconditionally() -> None:
    entry = spec(share={"type": "conditional", "conditions": "x",
                        "permitted_uses": ["work_reference"], "methods": ["online_query"]})
    assert rule_broken(entry) == ("C3", "share.type")


def test_a_base_resource_needs_one_of_the_five_base_subjects() -> None:
    entry = spec(classification={"top": "base", "item": "09"})
    assert rule_broken(entry) == ("C1", "classification.item")


def test_mail_channel_needs_no_platform_method() -> None:
    check_entry(spec(share={"type": "unconditional", "channel": "mail"}), Zone.external)


def test_repeated_item_codes_are_refused() -> None:
    body = factories.population_entry()
    items = body["items"]
    entry = spec(items=[*items, items[0]])  # type: ignore[list-item, misc]
    assert rule_broken(entry) == ("C1", "items[3].code")


def test_method_types_are_recorded() -> None:
    entry = spec(share={"type": "unconditional", "methods": ["bulk_download"],
                        "method_types": ["file", "api"]})
    assert [str(t) for t in entry.share.method_types] == ["file", "api"]


def test_the_public_may_download_only_what_an_open_entry_shares_unconditionally() -> None:
    station_list = EntrySpec.model_validate(factories.open_entry())
    assert station_list.open_items() == ["ZDBH", "ZDMC", "SZQ", "CWS"]  # not the telephone
    closed = station_list.model_copy(update={"open": station_list.open.model_copy(
        update={"is_open": False})})
    assert closed.open_items() == []
    assert station_list.model_copy(update={"classified": True}).open_items() == []
