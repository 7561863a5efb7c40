"""Open data (W2) through the gateway of a running node: anyone downloads, without a token,
the items a provider opened to the public, and each download is in the audit log."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests import factories
from tests.integration.conftest import ENTRIES, Party, bearer, publish
from tests.integration.test_exchange import as_csv, upload

STATIONS = [{"ZDBH": f"NJ{n:04d}", "ZDMC": f"鼓楼公园{n}号站", "SZQ": "鼓楼区", "CWS": str(n * 10),
             "GLYDH": f"1390000{n:04d}"} for n in range(1, 4)]
COLUMNS = ("ZDBH", "ZDMC", "SZQ", "CWS", "GLYDH")


def records(code: str) -> str:
    return f"/open-data/entries/{code}/records"


async def open_dataset(gateway: httpx.AsyncClient, provider: Party,
                       entry: dict[str, object] | None = None) -> str:
    """An open entry (`factories.open_entry` unless given) loaded with three stations."""
    code = await publish(gateway, provider, entry or factories.open_entry())
    loaded = await upload(gateway, provider, code, as_csv(STATIONS, COLUMNS))
    assert loaded.status_code == 200 and loaded.json()["accepted"] == 3, loaded.text
    return code


async def test_anyone_downloads_the_open_items_of_every_current_record(
    gateway: httpx.AsyncClient, provider: Party
) -> None:
    code = await open_dataset(gateway, provider)

    response = await gateway.get(records(code))  # no token
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-record-count"] == "3"
    assert f'filename="{code.replace("/", "-")}.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    # The keeper's telephone is shared with departments on conditions: never with the public.
    assert list(rows[0]) == ["_cursor", "ZDBH", "ZDMC", "SZQ", "CWS", "_deleted"]
    assert [(r["ZDBH"], r["ZDMC"], r["CWS"]) for r in rows] == [
        (s["ZDBH"], s["ZDMC"], s["CWS"]) for s in STATIONS]

    lines = (await gateway.get(records(code), params={"format": "jsonl"})).text.splitlines()
    assert [json.loads(line)["SZQ"] for line in lines] == ["鼓楼区"] * 3
    assert all("GLYDH" not in json.loads(line) for line in lines)

    since = response.headers["x-cursor-end"]
    enlarged = await upload(gateway, provider, code, as_csv([{**STATIONS[0], "CWS": "99"}],
                                                             COLUMNS))
    assert enlarged.status_code == 200, enlarged.text
    changes = await gateway.get(records(code), params={"since": since})
    assert [(r["ZDBH"], r["CWS"]) for r in csv.DictReader(io.StringIO(changes.text))] == [
        ("NJ0001", "99")]


async def test_each_public_download_is_audited_for_the_provider_to_see(
    gateway: httpx.AsyncClient, provider: Party, exchange_db: AsyncEngine
) -> None:
    code = await open_dataset(gateway, provider)
    assert (await gateway.get(records(code))).status_code == 200

    trail = await gateway.get("/api/exchange/audit", params={"entry_code": code},
                              headers=bearer(provider["token"]))
    downloads = [e for e in trail.json()["items"] if e["kind"] == "open_data"]
    assert [(e["provider"], e["consumer"], e["record_count"], sorted(e["items"]))
            for e in downloads] == [(provider["credit_code"], "", 3,
                                     ["CWS", "SZQ", "ZDBH", "ZDMC"])]
    async with exchange_db.connect() as connection:
        actor = (await connection.execute(text(
            "SELECT actor FROM audit_entry WHERE entry_code = :code AND kind = 'open_data'"),
            {"code": code})).scalar_one()
    assert actor == "public:127.0.0.1"


async def test_only_what_is_open_can_be_downloaded(
    gateway: httpx.AsyncClient, provider: Party
) -> None:
    closed = await publish(gateway, provider, {**factories.open_entry(), "open": {
        "is_open": False}})
    loaded = await upload(gateway, provider, closed, as_csv(STATIONS, COLUMNS))
    assert loaded.status_code == 200
    refused = await gateway.get(records(closed))
    assert refused.status_code == 404, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/not-open-data")

    withdrawn = await open_dataset(gateway, provider)
    gone = await gateway.post(f"{ENTRIES}/{withdrawn}/withdraw", json={"reason": "站点已撤销"},
                              headers=bearer(provider["token"]))
    assert gone.status_code == 200, gone.text
    async with asyncio.timeout(30):  # the exchange learns it from the catalog's event
        while (await gateway.get(records(withdrawn))).status_code != 404:  # noqa: ASYNC110
            await asyncio.sleep(0.2)

    assert (await gateway.get("/open-data/entries/1/12345/records")).status_code == 422


async def test_the_open_catalog_names_where_each_open_dataset_is_downloaded(
    gateway: httpx.AsyncClient, provider: Party
) -> None:
    code = await publish(gateway, provider, factories.open_entry())
    catalog = (await gateway.get("/open-data/catalog.jsonld", params={"code": code})).json()
    downloads = {d["dcat:mediaType"]: d["dcat:downloadURL"]["@id"]
                 for d in catalog["dcat:dataset"][0]["dcat:distribution"]
                 if "dcat:downloadURL" in d}
    assert downloads == {"text/csv": f"{records(code)}?format=csv",
                         "application/x-ndjson": f"{records(code)}?format=jsonl"}


async def test_a_wide_open_entry_downloads_as_json_lines_and_only_through_the_open_path(
    gateway: httpx.AsyncClient, provider: Party
) -> None:
    """60 items: one JSON object a row however many (json_build_object stops at 50)."""
    entry = factories.open_entry()
    extra = [{"name": f"第{n}号指标", "code": f"ZB{n:02d}", "data_type": "C", "length": 10,
              "share_type": "unconditional"} for n in range(56)]
    entry["items"] = [*entry["items"], *extra]  # type: ignore[list-item]
    code = await publish(gateway, provider, entry)
    row = {**STATIONS[0], **{item["code"]: f"值{n}" for n, item in enumerate(extra)}}
    loaded = await upload(gateway, provider, code, as_csv([row], tuple(row)))
    assert loaded.status_code == 200 and loaded.json()["accepted"] == 1, loaded.text

    answer = await gateway.get(records(code), params={"format": "jsonl"})
    assert answer.status_code == 200, answer.text
    [line] = [json.loads(text) for text in answer.text.splitlines()]
    assert line["ZB55"] == "值55" and line["ZDMC"] == STATIONS[0]["ZDMC"]
    assert "GLYDH" not in line and line["_deleted"] is False

    # The exchange's own path is not routed: the gateway's, which limits each address, is
    # the one way in.
    assert (await gateway.get(f"/api/exchange{records(code)}")).status_code == 404


async def test_the_population_base_resource_is_never_downloaded_by_the_public(
    gateway: httpx.AsyncClient, provider: Party
) -> None:
    people = await publish(gateway, provider, {**factories.population_entry(),
                                               "open": {"is_open": True}})
    assert (await gateway.get(records(people))).status_code == 404
