"""C1–C5 and the zone rule, checked without a database (C3 against a register given as is)."""

from __future__ import annotations

import pytest

from services.catalog.exceptions import RuleViolation
from services.catalog.rules import BaseItems, check_entry
from shared.contracts import Zone
from shared.contracts.catalog import EntrySpec
from tests import factories


def spec(**changes: object) -> EntrySpec:
    return EntrySpec.model_validate({**factories.population_entry(), **changes})


def rule_broken(entry: EntrySpec, zone: Zone = Zone.external,
                base_items: BaseItems = BaseItems()) -> tuple[str, str]:
    with pytest.raises(RuleViolation) as refused:
        check_entry(entry, zone, base_items)
    return refused.value.extensions["rule"], refused.value.extensions["field"]


# The population register as a fresh node has it (by code, and by name once normalised).
POPULATION = BaseItems(
    codes=frozenset({"GMSFHM", "XM", "XB", "MZ", "CSRQ", "ZZ"}),
    names=frozenset({"公民身份号码", "姓名", "性别", "民族", "出生日期", "住址"}))
LAW = {"kind": "law", "title": "《中华人民共和国统计法》第三十九条"}


def with_item(body: dict[str, object], index: int, **changes: object) -> dict[str, object]:
    items = [dict(item) for item in body["items"]]  # type: ignore[attr-defined]
    items[index] |= changes
    return {**body, "items": items}


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
    for share in ({"type": "conditional"}, {"type": "not_shared"}, {"sensitive": True}):
        kept_back = station_list.model_copy(update={
            "share": station_list.share.model_copy(update=share)})
        assert kept_back.open_items() == [], share  # departments get it only on conditions
    people = spec(open={"is_open": True})  # the population base resource, shared freely
    assert people.share.type == "unconditional" and people.open_items() == []


def test_an_unticked_id_number_the_register_names_cannot_be_made_conditional() -> None:
    body = with_item(factories.population_entry(), 1, is_base_item=False,
                     share_type="conditional")
    entry = EntrySpec.model_validate(body)
    check_entry(entry, Zone.external)  # the provider's tick alone would let it through
    assert rule_broken(entry, base_items=POPULATION) == ("C3", "items[1].share_type")


def test_the_register_knows_an_item_by_its_name_under_another_code() -> None:
    body = with_item(factories.population_entry(), 1, code="SFZHM", name="公民身份 号码",
                     is_base_item=False, share_type="not_shared", legal_basis=LAW)
    assert rule_broken(EntrySpec.model_validate(body), base_items=POPULATION) == (
        "C3", "items[1].share_type")


def test_an_item_the_register_does_not_name_may_be_conditional_in_a_base_resource() -> None:
    body = factories.population_entry()
    body["items"] = [*body["items"], {  # type: ignore[list-item]
        "name": "婚姻状况", "code": "HYZK", "data_type": "C", "share_type": "conditional"}]
    check_entry(EntrySpec.model_validate(body), Zone.external, POPULATION)


def test_the_register_binds_base_resources_only() -> None:
    body = with_item(factories.population_entry(), 1, is_base_item=False,
                     share_type="conditional")
    body |= {"classification": {"top": "theme", "item": "03"},
             "share": {"type": "conditional", "conditions": "仅限社保业务核验",
                       "permitted_uses": ["data_verification"], "methods": ["online_query"]}}
    check_entry(EntrySpec.model_validate(body), Zone.external, POPULATION)


def test_an_item_not_shared_names_its_own_legal_basis() -> None:
    body = factories.theme_entry({"type": "unconditional", "methods": ["bulk_download"]})
    refused = EntrySpec.model_validate(with_item(body, 1, share_type="not_shared"))
    assert rule_broken(refused) == ("C2", "items[1].legal_basis")
    check_entry(EntrySpec.model_validate(
        with_item(body, 1, share_type="not_shared", legal_basis=LAW)), Zone.external)


def test_a_not_shared_entrys_basis_covers_its_items() -> None:
    body = factories.theme_entry({"type": "not_shared", "legal_basis": LAW})
    check_entry(EntrySpec.model_validate(with_item(body, 1, share_type="not_shared")),
                Zone.external)


def test_an_items_legal_basis_is_left_out_of_its_snapshot_when_it_has_none() -> None:
    entry = spec()
    assert all("legal_basis" not in item for item in entry.model_dump(mode="json")["items"])
