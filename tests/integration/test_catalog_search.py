"""C9: Chinese search over the published catalog, with facets."""

from __future__ import annotations

import httpx

from tests import factories
from tests.integration.conftest import ENTRIES, bearer, create

SEARCH = "/api/catalog/search"


async def _published(gateway: httpx.AsyncClient, editor: dict[str, str],
                     body: dict[str, object]) -> str:
    code = (await create(gateway, editor, body)).json()["code"]
    published = await gateway.post(f"{ENTRIES}/{code}/publish", headers=bearer(editor["token"]))
    assert published.status_code == 200, published.text
    return code


def _entry(name: str, abstract: str, classification: dict[str, str],
           methods: list[str]) -> dict[str, object]:
    body = factories.population_entry(name)
    body["abstract"] = abstract
    body["classification"] = classification
    body["share"] = {"type": "unconditional", "channel": "platform", "methods": methods}
    return body


async def _search(gateway: httpx.AsyncClient, token: str, **params: str) -> dict[str, object]:
    response = await gateway.get(SEARCH, params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


async def test_two_character_queries_find_what_a_person_expects(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    household = await _published(gateway, editor, _entry(
        "户籍人口基础信息", "全市户籍人口的户口登记信息。", {"top": "base", "item": "01"},
        ["online_query"]))
    marriage = await _published(gateway, editor, _entry(
        "婚姻登记信息", "结婚登记、离婚登记和补领结婚证记录。",
        {"top": "department", "item": "07"}, ["bulk_download"]))
    enterprise = await _published(gateway, editor, _entry(
        "企业登记注册信息", "市场主体设立、变更、注销登记。", {"top": "base", "item": "02"},
        ["online_query", "bulk_download"]))
    draft = (await create(gateway, editor, _entry(
        "户籍迁移草稿", "尚未发布。", {"top": "base", "item": "01"}, ["online_query"]))).json()

    def codes(result: dict[str, object]) -> set[str]:
        return {item["code"] for item in result["items"]}  # type: ignore[attr-defined,index]

    mine = {"provider": editor["credit_code"]}
    assert codes(await _search(gateway, editor["token"], q="户籍", **mine)) == {household}
    assert codes(await _search(gateway, editor["token"], q="婚姻", **mine)) == {marriage}
    assert codes(await _search(gateway, editor["token"], q="登记", **mine)) == {
        household, marriage, enterprise}
    assert draft["code"] not in codes(await _search(gateway, editor["token"], q="户籍迁移"))


async def test_facets_count_every_match(gateway: httpx.AsyncClient,
                                        editor: dict[str, str]) -> None:
    await _published(gateway, editor, _entry("社会保险参保信息", "职工参保登记。",
                                             {"top": "base", "item": "04"}, ["online_query"]))
    await _published(gateway, editor, _entry("医疗保险结算信息", "医保结算登记。",
                                             {"top": "theme", "item": "03"},
                                             ["online_query", "bulk_download"]))
    result = await _search(gateway, editor["token"], q="登记", provider=editor["credit_code"],
                           limit="1")
    assert result["total"] == 2 and len(result["items"]) == 1  # type: ignore[arg-type]
    facets = result["facets"]
    assert facets["classification"] == {"base": 1, "theme": 1}  # type: ignore[index]
    assert facets["method"] == {"online_query": 2, "bulk_download": 1}  # type: ignore[index]
    assert facets["tier"] == {"municipal": 2}  # type: ignore[index]
    narrowed = await _search(gateway, editor["token"], q="登记", provider=editor["credit_code"],
                             method="bulk_download")
    assert narrowed["total"] == 1


async def test_withdrawn_entries_leave_search_but_stay_readable_by_code(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    code = await _published(gateway, editor, _entry("住房公积金缴存信息", "公积金缴存记录。",
                                                    {"top": "theme", "item": "03"},
                                                    ["online_query"]))
    await gateway.post(f"{ENTRIES}/{code}/withdraw", headers=bearer(editor["token"]),
                       json={"reason": "并入新目录"})
    result = await _search(gateway, editor["token"], q="公积金", provider=editor["credit_code"])
    assert result["total"] == 0
    readable = await gateway.get(f"{ENTRIES}/{code}", headers=bearer(editor["token"]))
    assert readable.json()["status"] == "withdrawn"
    history = await gateway.get(f"{ENTRIES}/{code}/versions", headers=bearer(editor["token"]))
    assert len(history.json()) == 3


async def test_a_kept_result_never_hides_a_change(gateway: httpx.AsyncClient,
                                                  editor: dict[str, str]) -> None:
    """The node keeps search results (an hour, in these tests): publishing or withdrawing
    an entry shows at the very next search of the same words."""
    words = {"q": "殡葬火化", "provider": editor["credit_code"]}
    assert (await _search(gateway, editor["token"], **words))["total"] == 0
    code = await _published(gateway, editor, _entry("殡葬火化信息", "火化证明记录。",
                                                    {"top": "department", "item": "07"},
                                                    ["online_query"]))
    assert (await _search(gateway, editor["token"], **words))["total"] == 1
    await gateway.post(f"{ENTRIES}/{code}/withdraw", headers=bearer(editor["token"]),
                       json={"reason": "并入新目录"})
    assert (await _search(gateway, editor["token"], **words))["total"] == 0


async def test_open_entries_are_harvestable_as_dcat_without_a_token(
    gateway: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    open_body = _entry("公共场所卫生许可信息", "公共场所卫生许可证发放情况。",
                       {"top": "theme", "item": "02"}, ["bulk_download"])
    open_body["open"] = {"is_open": True, "conditions": "无条件开放"}
    open_code = await _published(gateway, editor, open_body)
    closed_code = await _published(gateway, editor, _entry(
        "重点人员管控信息", "不向社会开放。", {"top": "theme", "item": "12"}, ["online_query"]))

    response = await gateway.get("/open-data/catalog.jsonld", params={"limit": 500})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    catalog = response.json()
    assert catalog["@type"] == "dcat:Catalog"
    datasets = {d["dct:identifier"]: d for d in catalog["dcat:dataset"]}
    assert open_code in datasets and closed_code not in datasets
    dataset = datasets[open_code]
    assert dataset["dct:title"] == {"@value": "公共场所卫生许可信息", "@language": "zh"}
    assert dataset["dct:publisher"]["foaf:name"] == editor["name"]
    assert dataset["dct:accrualPeriodicity"]["@id"].endswith("/DAILY")
