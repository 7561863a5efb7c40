"""The data path (requirements §5) through the gateway of a running node: a provider loads its
entry, a consumer with a grant queries, downloads and subscribes, and every access is audited.

Grants are obtained the way departments obtain them (a request to the authorization
service); the exchange learns them from events, so each test waits for that first.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.embedded import free_port
from services.exchange.subscriptions import sign
from tests import factories
from tests.conftest import Infrastructure, RunningNode
from tests.integration.conftest import (
    GRANTS,
    Party,
    answer,
    application,
    bearer,
    eventually,
    find_event,
    new_party,
    publish,
    submit,
)
from tests.integration.streaming import produce, streaming_system

EXCHANGE = "/api/exchange"


def person_entry(**share: object) -> dict[str, object]:
    """An entry of people's records with three items, offered by every method: a base
    population resource if unconditional, a theme resource otherwise (C3)."""
    body = factories.population_entry()
    body["share"] = {"type": "unconditional", "channel": "platform",
                     "methods": ["online_query", "bulk_download", "system_integration"],
                     **share}
    if body["share"]["type"] != "unconditional":  # type: ignore[index]
        body["classification"] = {"top": "theme", "item": "01", "category": "001"}
        body["items"] = [{**item, "is_base_item": False, "share_type": "conditional"}
                         for item in body["items"]]  # type: ignore[attr-defined]
    return body


def people(count: int, region: str = "320102") -> list[dict[str, str]]:
    return [{"GMSFHM": factories.id_number(region), "XM": factories.person_name(),
             "CSRQ": "1990-01-01"} for _ in range(count)]


def as_csv(rows: list[dict[str, str]], columns: tuple[str, ...] = ("GMSFHM", "XM", "CSRQ")
           ) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def upload(gateway: httpx.AsyncClient, party: Party, code: str, body: bytes,
                 media_type: str = "text/csv") -> httpx.Response:
    """Load records, waiting for the entry's catalog event to reach the exchange first."""
    async with asyncio.timeout(30):
        while True:
            response = await gateway.post(f"{EXCHANGE}/entries/{code}/records", content=body,
                                          headers={**bearer(party["token"]),
                                                   "Content-Type": media_type})
            if response.status_code != 404:
                return response
            await asyncio.sleep(0.2)


async def query(gateway: httpx.AsyncClient, party: Party, code: str, key: str,
                purpose: str = "data_verification", items: tuple[str, ...] = ()
                ) -> httpx.Response:
    return await gateway.get(f"{EXCHANGE}/entries/{code}/record", headers=bearer(
        party["token"]), params={"key": key, "purpose": purpose, "items": list(items)})


async def until_denial(gateway: httpx.AsyncClient, party: Party, code: str, key: str,
                       denial: str | None, **params: object) -> httpx.Response:
    """Query until the exchange's read model of grants gives this outcome (None: allowed)."""
    async with asyncio.timeout(30):
        while True:
            response = await query(gateway, party, code, key, **params)  # type: ignore[arg-type]
            outcome = response.json().get("denial") if response.status_code == 403 else None
            if outcome == denial and response.status_code != 404:
                return response
            await asyncio.sleep(0.2)


@dataclass
class Shared:
    code: str
    rows: list[dict[str, str]]
    grant: dict[str, object] = field(default_factory=dict)


async def shared_entry(gateway: httpx.AsyncClient, provider: Party, consumer: Party,
                       *, items: tuple[str, ...] = ("XM", "GMSFHM"), count: int = 5,
                       methods: tuple[str, ...] = ("online_query", "bulk_download",
                                                   "system_integration")) -> Shared:
    """An unconditional entry loaded with `count` people and granted to `consumer`."""
    code = await publish(gateway, provider, person_entry())
    rows = people(count)
    loaded = await upload(gateway, provider, code, as_csv(rows))
    assert loaded.status_code == 200, loaded.text
    filed = await submit(gateway, consumer, application(code, items=list(items),
                                                        methods=list(methods)))
    assert filed.status_code == 201, filed.text
    shared = Shared(code, rows)
    shared.grant = (await gateway.get(f"{GRANTS}/{filed.json()['grant_id']}",
                                      headers=bearer(consumer["token"]))).json()
    await until_denial(gateway, consumer, code, rows[0]["GMSFHM"], None)
    return shared


# --- E1: getting data in -----------------------------------------------------------------------


async def test_a_csv_load_reports_each_refused_row_with_its_line_and_reason(
    gateway: httpx.AsyncClient, provider: Party
) -> None:
    code = await publish(gateway, provider, person_entry())
    good = people(3)
    body = as_csv(good) + (
        "110101199003071234,错号,1990-03-07\n"      # line 5: check digit wrong
        f"{factories.id_number()},李四,1990-02-30\n"  # line 6: no such date
        f"{factories.id_number()},王五\n"             # line 7: a value short
        '"' + factories.id_number() + '","多行\n姓名",1991-01-01\n'  # lines 8–9: quoted break
    ).encode()
    loaded = await upload(gateway, provider, code, body)
    assert loaded.status_code == 200, loaded.text
    report = loaded.json()
    assert (report["status"], report["accepted"], report["rejected"]) == ("completed", 4, 3)
    assert [(r["line"], r["reason"].split(":")[0]) for r in report["rejections"]] == [
        (5, "GMSFHM"), (6, "CSRQ"), (7, "2 values for 3 columns")]
    assert "ID number" in report["rejections"][0]["reason"]

    again = await upload(gateway, provider, code, as_csv(good))
    assert again.json()["accepted"] == 3
    loads = await gateway.get(f"{EXCHANGE}/loads", params={"entry_code": code},
                              headers=bearer(provider["token"]))
    assert loads.json()["total"] == 2
    one = await gateway.get(f"{EXCHANGE}/loads/{report['id']}", headers=bearer(provider["token"]))
    assert one.json()["rejections"] == report["rejections"]
    missing = await gateway.get(f"{EXCHANGE}/loads/{uuid.uuid4()}",
                                headers=bearer(provider["token"]))
    assert missing.status_code == 404


async def test_genuine_id_numbers_of_people_born_before_their_regions_code_are_loaded(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party
) -> None:
    # Genuine numbers whose region code is newer than the birth (or was later abolished).
    born_earlier = [
        ("320102197805051230", "1978-05-05"),  # 玄武区 from 1983
        ("310115195006120018", "1950-06-12"),  # 浦东新区 from 1992
        ("320115194503010028", "1945-03-01"),  # 江宁区 from 2000
        ("31022519600101004X", "1960-01-01"),  # 南汇县, 1982–2001
    ]
    rows = [{"GMSFHM": number, "XM": factories.person_name(), "CSRQ": born}
            for number, born in born_earlier]
    code = await publish(gateway, provider, person_entry())
    body = as_csv(rows) + "999999198001010011,无此地,1980-01-01\n".encode()
    loaded = await upload(gateway, provider, code, body)
    assert loaded.status_code == 200, loaded.text
    report = loaded.json()
    assert (report["accepted"], report["rejected"]) == (4, 1), report["rejections"]
    assert "no such region code" in report["rejections"][0]["reason"]

    filed = await submit(gateway, consumer, application(code, items=["XM", "GMSFHM"]))
    assert filed.status_code == 201, filed.text
    found = await until_denial(gateway, consumer, code, "320102197805051230", None)
    assert found.status_code == 200, found.text
    assert found.json()["record"]["XM"] == rows[0]["XM"]


async def test_a_header_naming_unknown_items_refuses_the_whole_load(
    gateway: httpx.AsyncClient, provider: Party
) -> None:
    code = await publish(gateway, provider, person_entry())
    refused = await upload(gateway, provider, code, b"GMSFHM,XM,HJDZ\n1,2,3\n")
    assert (refused.status_code, refused.json()["field"]) == (422, "header")
    assert "HJDZ" in refused.json()["detail"]


async def test_json_lines_load_and_only_the_provider_loads(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party
) -> None:
    code = await publish(gateway, provider, person_entry())
    rows = people(2)
    body = ("\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
            + '\n{"GMSFHM": "x"}\nnot json\n').encode()
    loaded = await upload(gateway, provider, code, body, "application/x-ndjson")
    assert (loaded.json()["accepted"], loaded.json()["rejected"]) == (2, 2)
    stranger = await upload(gateway, consumer, code, body, "application/x-ndjson")
    assert (stranger.status_code, stranger.json()["type"].split("/")[-1]) == (
        403, "not-the-provider")


async def test_records_streamed_on_the_ingest_topic_are_stored_and_refusals_reported(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str,
    infrastructure: Infrastructure
) -> None:
    shared = await shared_entry(gateway, provider, consumer)
    person = people(1)[0]
    system = await streaming_system(gateway, admin_token, provider)
    good = system.envelope(shared.code, person)
    bad = system.envelope(shared.code, {"GMSFHM": "123"})
    await produce(infrastructure.bootstrap_servers, (good, bad, good))  # a resend is harmless
    found = await eventually(gateway, consumer, f"{EXCHANGE}/entries/{shared.code}/record?"
                             f"key={person['GMSFHM']}&purpose=data_verification", "record",
                             {"XM": person["XM"], "GMSFHM": person["GMSFHM"]})
    assert found["entry_code"] == shared.code
    refusal = await find_event(infrastructure.bootstrap_servers, "ingest.rejection.recorded.v1",
                               shared.code)
    assert (refusal.data["ingest_id"], refusal.data["code"]) == (str(bad.id), "invalid_record")


# --- E2: online query --------------------------------------------------------------------------


async def test_a_query_answers_only_the_granted_items_for_the_granted_purpose(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str
) -> None:
    shared = await shared_entry(gateway, provider, consumer, items=("XM", "GMSFHM"))
    person = shared.rows[0]
    found = await query(gateway, consumer, shared.code, person["GMSFHM"])
    assert found.status_code == 200, found.text
    assert found.json()["record"] == {"XM": person["XM"], "GMSFHM": person["GMSFHM"]}
    assert "CSRQ" not in found.text and "1990-01-01" not in found.text

    denied = {
        "items_not_granted": await query(gateway, consumer, shared.code, person["GMSFHM"],
                                         items=("CSRQ",)),
        "purpose_not_granted": await query(gateway, consumer, shared.code, person["GMSFHM"],
                                           purpose="business_collaboration"),
    }
    outsider = await new_party(gateway, admin_token)
    denied["no_grant"] = await query(gateway, outsider, shared.code, person["GMSFHM"])
    for denial, response in denied.items():
        assert (response.status_code, response.json()["denial"]) == (403, denial), response.text
        assert person["XM"] not in response.text

    bad_key = await query(gateway, consumer, shared.code, "320102199001011230")
    assert (bad_key.status_code, bad_key.json()["field"]) == (422, "key")
    missing = await query(gateway, consumer, shared.code, factories.id_number())
    assert missing.status_code == 404


async def test_revocation_and_expiry_reach_the_next_calls(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party,
    authorization_db: AsyncEngine
) -> None:
    shared = await shared_entry(gateway, provider, consumer)
    key = shared.rows[0]["GMSFHM"]
    served: list[tuple[float, int]] = []  # (when a query started, its status)

    async def keep_querying() -> None:
        while True:
            started = asyncio.get_running_loop().time()
            served.append((started, (await query(gateway, consumer, shared.code, key))
                           .status_code))
            await asyncio.sleep(0.03)  # under the client's rate limit

    querying = asyncio.create_task(keep_querying())
    await asyncio.sleep(0.3)
    revoked = await gateway.post(f"{GRANTS}/{shared.grant['id']}/revocation",
                                 json={"reason": "超范围使用"}, headers=bearer(provider["token"]))
    answered = asyncio.get_running_loop().time()
    at_once = await query(gateway, consumer, shared.code, key)  # sent the instant it arrived
    await asyncio.sleep(0.3)
    querying.cancel()
    assert revoked.status_code == 200, revoked.text
    assert (at_once.status_code, at_once.json()["denial"]) == (403, "grant_not_active")
    assert 200 in {status for started, status in served if started < answered}
    assert {status for started, status in served if started >= answered} == {403}

    other = await shared_entry(gateway, provider, consumer)
    async with authorization_db.begin() as connection:  # the grant's period ends
        await connection.execute(text(
            "UPDATE share_grant SET valid_until = current_date - 1, expires_at = now() "
            "WHERE id = :id"), {"id": other.grant["id"]})
    expired = await until_denial(gateway, consumer, other.code, other.rows[0]["GMSFHM"],
                                 "grant_not_active")
    assert "expired" in expired.json()["detail"]


async def test_a_copied_token_of_another_department_gets_nothing(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str
) -> None:
    shared = await shared_entry(gateway, provider, consumer)
    thief = await new_party(gateway, admin_token)
    # The other department knows the grant id and the key; its own token still names it.
    response = await gateway.get(f"{EXCHANGE}/entries/{shared.code}/records", headers=bearer(
        thief["token"]), params={"purpose": "data_verification"})
    assert (response.status_code, response.json()["denial"]) == (403, "no_grant")


async def test_the_row_filter_applies_to_query_and_download(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party
) -> None:
    code = await publish(gateway, provider, person_entry(
        type="conditional", conditions="仅限本市", permitted_uses=["data_verification"]))
    nanjing, xuzhou = people(3, "320102"), people(2, "320302")
    await upload(gateway, provider, code, as_csv(nanjing + xuzhou))
    filed = await submit(gateway, consumer, application(code, items=["XM", "GMSFHM"],
                                                        methods=["online_query",
                                                                 "bulk_download"]))
    approved = await answer(gateway, provider, filed.json()["id"], approve=True,
                            row_filter=[{"item": "GMSFHM", "op": "prefix", "values": ["3201"]}])
    assert approved.status_code == 200, approved.text
    await until_denial(gateway, consumer, code, nanjing[0]["GMSFHM"], None)
    outside = await query(gateway, consumer, code, xuzhou[0]["GMSFHM"])
    assert outside.status_code == 404

    download = await gateway.get(f"{EXCHANGE}/entries/{code}/records", headers=bearer(
        consumer["token"]), params={"purpose": "data_verification"})
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert sorted(r["GMSFHM"] for r in rows) == sorted(p["GMSFHM"] for p in nanjing)
    assert set(rows[0]) == {"_cursor", "XM", "GMSFHM", "_deleted"}


# --- E3: bulk download -------------------------------------------------------------------------


async def test_a_download_streams_granted_items_and_resumes_from_its_cursor(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party
) -> None:
    shared = await shared_entry(gateway, provider, consumer, count=50)
    params = {"purpose": "data_verification", "format": "jsonl"}
    path = f"{EXCHANGE}/entries/{shared.code}/records"
    full = await gateway.get(path, params=params, headers=bearer(consumer["token"]))
    assert full.status_code == 200, full.text
    lines = [json.loads(line) for line in full.text.splitlines()]
    assert len(lines) == int(full.headers["x-record-count"]) == 50
    assert set(lines[0]) == {"_cursor", "XM", "GMSFHM", "_deleted"}
    assert {line["GMSFHM"] for line in lines} == {row["GMSFHM"] for row in shared.rows}

    cut_at = lines[19]["_cursor"]  # the client was cut off after 20 rows
    rest = await gateway.get(path, params={**params, "since": cut_at},
                             headers=bearer(consumer["token"]))
    assert [json.loads(line)["GMSFHM"] for line in rest.text.splitlines()] == [
        line["GMSFHM"] for line in lines[20:]]

    changed = {**shared.rows[0], "XM": "改名后"}
    await upload(gateway, provider, shared.code, as_csv([changed, *shared.rows[1:]]))
    since_end = await gateway.get(path, params={**params, "since": full.headers["x-cursor-end"]},
                                  headers=bearer(consumer["token"]))
    assert [json.loads(line)["XM"] for line in since_end.text.splitlines()] == ["改名后"]


async def test_a_download_since_a_cursor_carries_deletions_as_tombstones(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str,
    infrastructure: Infrastructure
) -> None:
    shared = await shared_entry(gateway, provider, consumer, count=6)
    path, token = f"{EXCHANGE}/entries/{shared.code}/records", bearer(consumer["token"])
    jsonl = {"purpose": "data_verification", "format": "jsonl"}
    full = await gateway.get(path, params=jsonl, headers=token)
    assert [json.loads(line)["_deleted"] for line in full.text.splitlines()] == [False] * 6
    synced_to = full.headers["x-cursor-end"]

    gone, renamed = shared.rows[:2], {**shared.rows[2], "XM": "改名后"}
    system = await streaming_system(gateway, admin_token, provider)
    await system.stream(infrastructure.bootstrap_servers, shared.code,
                        [{"GMSFHM": person["GMSFHM"]} for person in gone], deleted=True)
    await upload(gateway, provider, shared.code, as_csv([renamed]))
    async with asyncio.timeout(30):  # the deletions are applied in the order sent
        while True:
            if (await query(gateway, consumer, shared.code, gone[1]["GMSFHM"])
                    ).status_code == 404:
                break
            await asyncio.sleep(0.2)

    changes = await gateway.get(path, params={**jsonl, "since": synced_to}, headers=token)
    assert changes.status_code == 200, changes.text
    lines = [json.loads(line) for line in changes.text.splitlines()]
    assert int(changes.headers["x-record-count"]) == len(lines) == 3
    assert [line["_cursor"] for line in lines] == sorted(line["_cursor"] for line in lines)
    by_key = {line["GMSFHM"]: line for line in lines}
    for person in gone:  # the key and the cursor, nothing else of the record
        tombstone = by_key[person["GMSFHM"]]
        assert (tombstone["_deleted"], tombstone["XM"]) == (True, None), tombstone
        assert tombstone["_cursor"] > int(synced_to)
    assert (by_key[renamed["GMSFHM"]]["_deleted"], by_key[renamed["GMSFHM"]]["XM"]) == (
        False, "改名后")

    as_table = await gateway.get(path, params={"purpose": "data_verification",
                                               "since": synced_to}, headers=token)
    rows = {row["GMSFHM"]: row for row in csv.DictReader(io.StringIO(as_table.text))}
    assert list(next(csv.reader(io.StringIO(as_table.text)))) == [
        "_cursor", "XM", "GMSFHM", "_deleted"]
    assert {key: (row["_deleted"], row["XM"]) for key, row in rows.items()} == {
        gone[0]["GMSFHM"]: ("true", ""), gone[1]["GMSFHM"]: ("true", ""),
        renamed["GMSFHM"]: ("false", "改名后")}

    # A full download is what is there now, without the deleted records.
    now = await gateway.get(path, params=jsonl, headers=token)
    current = [json.loads(line) for line in now.text.splitlines()]
    assert sorted(line["GMSFHM"] for line in current) == sorted(
        person["GMSFHM"] for person in shared.rows[2:])
    assert not any(line["_deleted"] for line in current)


async def test_tombstones_keep_to_the_row_filter_and_to_the_granted_items(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str,
    infrastructure: Infrastructure
) -> None:
    code = await publish(gateway, provider, person_entry(
        type="conditional", conditions="仅限本市", permitted_uses=["data_verification"]))
    nanjing, xuzhou = people(2, "320102"), people(2, "320302")
    await upload(gateway, provider, code, as_csv(nanjing + xuzhou))
    filed = await submit(gateway, consumer, application(code, items=["XM"],
                                                        methods=["bulk_download"]))
    approved = await answer(gateway, provider, filed.json()["id"], approve=True,
                            row_filter=[{"item": "GMSFHM", "op": "prefix", "values": ["3201"]}])
    assert approved.status_code == 200, approved.text
    path, token = f"{EXCHANGE}/entries/{code}/records", bearer(consumer["token"])
    params = {"purpose": "data_verification", "format": "jsonl"}
    async with asyncio.timeout(30):  # the exchange learns the grant from its event
        while True:
            full = await gateway.get(path, params=params, headers=token)
            if full.status_code == 200:
                break
            await asyncio.sleep(0.2)
    assert sorted(json.loads(line)["XM"] for line in full.text.splitlines()) == sorted(
        person["XM"] for person in nanjing)

    # Outside the filter first: once the second shows, both are applied (in order sent).
    system = await streaming_system(gateway, admin_token, provider)
    await system.stream(infrastructure.bootstrap_servers, code,
                        [{"GMSFHM": xuzhou[0]["GMSFHM"]}, {"GMSFHM": nanjing[0]["GMSFHM"]}],
                        deleted=True)
    since = {**params, "since": full.headers["x-cursor-end"]}
    async with asyncio.timeout(30):
        while True:
            changes = await gateway.get(path, params=since, headers=token)
            if changes.text:
                break
            await asyncio.sleep(0.2)
    # Only the deletion within the filter, and no ID number: the key item was not granted.
    assert [json.loads(line) for line in changes.text.splitlines()] == [
        {"_cursor": json.loads(changes.text)["_cursor"], "XM": None, "_deleted": True}]
    assert xuzhou[0]["GMSFHM"] not in changes.text and nanjing[0]["GMSFHM"] not in changes.text


# --- E4: subscriptions -------------------------------------------------------------------------


class Receiver:
    """A consumer's webhook: verifies signatures, applies each change once, can go down."""

    def __init__(self) -> None:
        self.port = free_port()
        self.up = True
        self.applied: dict[str, dict[str, object]] = {}
        self.calls = self.refused = 0
        self.secret = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        if not self.up:
            self.refused += 1
            return web.Response(status=503)
        body = await request.read()
        assert request.headers["X-Govshare-Signature"] == sign(
            self.secret, request.headers["X-Govshare-Timestamp"], body)
        for change in json.loads(body)["changes"]:
            self.applied.setdefault(change["idempotency_key"], change)
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", hook.port).start()
    yield hook
    await runner.cleanup()


async def test_a_webhook_subscriber_that_was_down_loses_nothing_and_applies_nothing_twice(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, receiver: Receiver
) -> None:
    shared = await shared_entry(gateway, provider, consumer, count=3)
    created = await gateway.post(f"{EXCHANGE}/subscriptions", headers=bearer(consumer["token"]),
                                 json={"entry_code": shared.code, "purpose": "data_verification",
                                       "delivery": "webhook", "from_beginning": True,
                                       "webhook_url": f"http://127.0.0.1:{receiver.port}/hook"})
    assert created.status_code == 201, created.text
    receiver.secret = created.json()["secret"]
    await _until(lambda: len(receiver.applied) == 3)

    receiver.up = False
    more = people(4)
    await upload(gateway, provider, shared.code, as_csv(more))
    await _until(lambda: receiver.refused >= 2)
    receiver.up = True
    await _until(lambda: len(receiver.applied) == 7)
    delivered = {c["record"]["GMSFHM"] for c in receiver.applied.values()}  # type: ignore[index]
    assert delivered == {p["GMSFHM"] for p in shared.rows + more}
    assert all(set(c["record"]) == {"XM", "GMSFHM"}  # type: ignore[arg-type]
               for c in receiver.applied.values())
    state = await gateway.get(f"{EXCHANGE}/subscriptions/{created.json()['id']}",
                              headers=bearer(consumer["token"]))
    assert (state.json()["delivered"], state.json()["failures"]) == (7, 0)


async def test_a_kafka_subscriber_restarted_mid_stream_reads_every_change_once(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party,
    infrastructure: Infrastructure
) -> None:
    shared = await shared_entry(gateway, provider, consumer, count=20)
    created = await gateway.post(f"{EXCHANGE}/subscriptions", headers=bearer(consumer["token"]),
                                 json={"entry_code": shared.code, "purpose": "data_verification",
                                       "delivery": "kafka", "from_beginning": True,
                                       "items": ["GMSFHM"]})
    assert created.status_code == 201, created.text
    topic, applied = created.json()["topic"], {}

    async def read(limit: int) -> None:
        reader = AIOKafkaConsumer(topic, bootstrap_servers=infrastructure.bootstrap_servers,
                                  group_id=f"consumer-{shared.code}", enable_auto_commit=False,
                                  auto_offset_reset="earliest")
        await reader.start()
        try:
            async with asyncio.timeout(30):
                taken = 0
                while taken < limit:
                    for records in (await reader.getmany(timeout_ms=500, max_records=5)).values():
                        for record in records:
                            change = json.loads(record.value)
                            applied.setdefault(change["idempotency_key"], change)  # apply once
                            taken += 1
                    await reader.commit()
        finally:
            await reader.stop()

    await read(8)  # then the consumer's system restarts
    await upload(gateway, provider, shared.code, as_csv(people(5)))
    await read(25 - len(applied))
    assert len(applied) == 25
    assert all(set(c["record"]) == {"GMSFHM"} for c in applied.values())


async def _until(condition: object, seconds: float = 30) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110
            await asyncio.sleep(0.1)


# --- E5: audit ---------------------------------------------------------------------------------


async def test_every_access_is_audited_and_an_edited_or_deleted_entry_is_detected(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str,
    exchange_db: AsyncEngine
) -> None:
    shared = await shared_entry(gateway, provider, consumer)
    await query(gateway, consumer, shared.code, shared.rows[1]["GMSFHM"])
    await query(gateway, consumer, shared.code, shared.rows[1]["GMSFHM"],
                purpose="business_collaboration")
    trail = await gateway.get(f"{EXCHANGE}/audit", params={"entry_code": shared.code},
                              headers=bearer(provider["token"]))
    kinds = [(e["kind"], e["record_count"], e["denied"]) for e in trail.json()["items"]]
    assert ("query", 1, None) in kinds and ("query", 0, "purpose_not_granted") in kinds
    assert all(e["consumer"] == consumer["credit_code"] for e in trail.json()["items"])

    verify = f"{EXCHANGE}/audit/verification"
    async with asyncio.timeout(30):  # the sealer has sealed everything
        while (report := (await gateway.get(verify, headers=bearer(admin_token))).json())[  # noqa: ASYNC110
                "unsealed"]:
            await asyncio.sleep(0.2)
    assert report["valid"] is True, report
    # Not the head of the chain: the sealer extends the chain from there meanwhile.
    newest = trail.json()["items"][-1]["id"]

    async with exchange_db.begin() as connection:
        original = (await connection.execute(text(
            "SELECT record_count, position FROM audit_entry WHERE id = :id"),
            {"id": newest})).one()
        await connection.execute(text(
            "UPDATE audit_entry SET record_count = record_count + 7 WHERE id = :id"),
            {"id": newest})
    try:
        edited = (await gateway.get(verify, headers=bearer(admin_token))).json()
        assert (edited["valid"], edited["broken_entry_id"]) == (False, newest)
        assert "edited" in edited["reason"]
    finally:
        async with exchange_db.begin() as connection:
            await connection.execute(text(
                "UPDATE audit_entry SET record_count = :n WHERE id = :id"),
                {"n": original.record_count, "id": newest})

    async with exchange_db.begin() as connection:
        row = (await connection.execute(text(
            "SELECT * FROM audit_entry WHERE id = :id"), {"id": newest})).mappings().one()
        await connection.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": newest})
    try:
        deleted = (await gateway.get(verify, headers=bearer(admin_token))).json()
        assert (deleted["valid"], deleted["broken_at_position"]) == (False, original.position)
    finally:
        async with exchange_db.begin() as connection:
            columns = ", ".join(row.keys())
            await connection.execute(text(
                f"INSERT INTO audit_entry ({columns}) VALUES "
                f"({', '.join(':' + c for c in row.keys())})"), dict(row))
    assert (await gateway.get(verify, headers=bearer(admin_token))).json()["valid"] is True

    async with exchange_db.begin() as connection:  # cut off the newest sealed entries
        head = await connection.scalar(text("SELECT max(position) FROM audit_entry"))
        rows = (await connection.execute(text(
            "DELETE FROM audit_entry WHERE position = :p RETURNING *"), {"p": head})).mappings()
        tail = dict(rows.one())
    try:
        truncated = (await gateway.get(verify, headers=bearer(admin_token))).json()
        assert (truncated["valid"], truncated["broken_at_position"]) == (False, head)
        assert "deleted" in truncated["reason"]
    finally:
        async with exchange_db.begin() as connection:
            await connection.execute(text(
                f"INSERT INTO audit_entry ({', '.join(tail)}) VALUES "
                f"({', '.join(':' + c for c in tail)})"), tail)
    not_auditor = await gateway.get(verify, headers=bearer(consumer["token"]))
    assert not_auditor.status_code == 403


# --- E6: objections ----------------------------------------------------------------------------


async def test_an_objection_goes_through_every_state_and_the_correction_reaches_the_data(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party,
    infrastructure: Infrastructure
) -> None:
    shared = await shared_entry(gateway, provider, consumer)
    person = shared.rows[2]
    raised = await gateway.post(f"{EXCHANGE}/objections", headers=bearer(consumer["token"]),
                                json={"entry_code": shared.code, "key": [person["GMSFHM"]],
                                      "kind": "wrong", "description": "姓名与户籍底册不一致",
                                      "evidence": "户籍底册复印件（编号2026-117）"})
    assert raised.status_code == 201, raised.text
    objection = raised.json()
    path = f"{EXCHANGE}/objections/{objection['id']}"
    by_consumer = await gateway.post(f"{path}/resolution", headers=bearer(consumer["token"]),
                                     json={"outcome": "confirmed", "resolution": "无误"})
    assert by_consumer.status_code == 403
    verifying = await gateway.post(f"{path}/verification", headers=bearer(provider["token"]))
    assert verifying.json()["status"] == "verifying"
    again = await gateway.post(f"{path}/verification", headers=bearer(provider["token"]))
    assert (again.status_code, again.json()["current_state"]) == (409, "verifying")
    resolved = await gateway.post(f"{path}/resolution", headers=bearer(provider["token"]), json={
        "outcome": "corrected", "resolution": "经核实已更正", "correction": {"XM": "张更正"}})
    assert resolved.status_code == 200, resolved.text
    final = resolved.json()
    assert final["status"] == "corrected"
    assert final["raised_at"] <= final["verifying_at"] <= final["resolved_at"]
    corrected = await query(gateway, consumer, shared.code, person["GMSFHM"])
    assert corrected.json()["record"]["XM"] == "张更正"
    for event_type in ("exchange.objection.raised.v1", "exchange.objection.verifying.v1",
                       "exchange.objection.resolved.v1"):
        await find_event(infrastructure.bootstrap_servers, event_type, objection["id"])


async def test_consumers_report_how_useful_the_data_was_and_providers_see_it(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str
) -> None:
    shared = await shared_entry(gateway, provider, consumer)
    path = f"{EXCHANGE}/usefulness"
    report = {"entry_code": shared.code, "rating": 4, "comment": "满足养老资格认证需要"}
    made = await gateway.post(path, json=report, headers=bearer(consumer["token"]))
    assert made.status_code == 201, made.text
    too_high = await gateway.post(path, json={**report, "rating": 6},
                                  headers=bearer(consumer["token"]))
    assert (too_high.status_code, too_high.json()["errors"][0]["field"]) == (
        422, "body.rating")
    outsider = await new_party(gateway, admin_token)
    refused = await gateway.post(path, json=report, headers=bearer(outsider["token"]))
    assert (refused.status_code, refused.json()["denial"]) == (403, "no_grant")
    seen = await gateway.get(path, params={"entry_code": shared.code},
                             headers=bearer(provider["token"]))
    assert [(r["consumer"], r["rating"]) for r in seen.json()["items"]] == [
        (consumer["credit_code"], 4)]


# --- E7: freshness and cross-checks ------------------------------------------------------------


async def test_an_entry_not_updated_within_its_cycle_is_flagged_stale(
    gateway: httpx.AsyncClient, provider: Party, exchange_db: AsyncEngine,
    infrastructure: Infrastructure
) -> None:
    code = await publish(gateway, provider, person_entry())  # declared daily
    await upload(gateway, provider, code, as_csv(people(2)))
    fresh = await gateway.get(f"{EXCHANGE}/freshness", headers=bearer(provider["token"]))
    assert {f["entry_code"]: f["state"] for f in fresh.json()}[code] == "fresh"
    async with exchange_db.begin() as connection:  # three days pass without a load
        await connection.execute(text(
            "UPDATE resource SET last_loaded_at = now() - interval '3 days' WHERE code = :c"),
            {"c": code})
    stale = await find_event(infrastructure.bootstrap_servers, "exchange.entry.stale.v1", code)
    assert stale.data["provider"] == provider["credit_code"]
    listed = await gateway.get(f"{EXCHANGE}/freshness", params={"state": "stale"},
                               headers=bearer(provider["token"]))
    assert [f["entry_code"] for f in listed.json()] == [code]


async def test_an_entry_without_a_period_is_never_stale_and_stops_nothing(
    gateway: httpx.AsyncClient, provider: Party, exchange_db: AsyncEngine,
    infrastructure: Infrastructure
) -> None:
    undeclared = await publish(gateway, provider, {**person_entry(), "update_cycle": "other"})
    daily = await publish(gateway, provider, person_entry())
    for code in (undeclared, daily):
        loaded = await upload(gateway, provider, code, as_csv(people(2)))
        assert loaded.status_code == 200, loaded.text
    async with exchange_db.begin() as connection:  # long past any cycle, for both
        await connection.execute(text(
            "UPDATE resource SET last_loaded_at = now() - interval '400 days' "
            "WHERE code IN (:a, :b)"), {"a": undeclared, "b": daily})
    stale = await find_event(infrastructure.bootstrap_servers, "exchange.entry.stale.v1", daily)
    assert stale.data["update_cycle"] == "daily"

    listed = await gateway.get(f"{EXCHANGE}/freshness", headers=bearer(provider["token"]))
    assert listed.status_code == 200, listed.text
    states = {f["entry_code"]: (f["update_cycle"], f["state"], f["due_by"])
              for f in listed.json()}
    assert states == {undeclared: ("other", "no_cycle", None),
                      daily: ("daily", "stale", states[daily][2])}
    only = await gateway.get(f"{EXCHANGE}/freshness", params={"state": "no_cycle"},
                             headers=bearer(provider["token"]))
    assert [f["entry_code"] for f in only.json()] == [undeclared]
    async with exchange_db.begin() as connection:
        marked = dict((await connection.execute(text(
            "SELECT code, stale_since IS NOT NULL FROM resource WHERE code IN (:a, :b)"),
            {"a": undeclared, "b": daily})).all())
    assert marked == {undeclared: False, daily: True}


async def test_an_item_held_by_two_sources_is_cross_checked(
    gateway: httpx.AsyncClient, provider: Party, admin_token: str
) -> None:
    other = await new_party(gateway, admin_token)
    population, insured = people(4), []
    for index, person in enumerate(population):
        insured.append({**person, "XM": person["XM"] if index else "错名"})
    left = await publish(gateway, provider, person_entry())
    right = await publish(gateway, other, person_entry())
    await upload(gateway, provider, left, as_csv(population))
    await upload(gateway, other, right, as_csv(insured))
    checked = await gateway.post(f"{EXCHANGE}/cross-checks", headers=bearer(admin_token), json={
        "left_entry": left, "left_item": "XM", "right_entry": right, "right_item": "XM"})
    assert checked.status_code == 201, checked.text
    report = checked.json()
    assert (report["compared"], report["mismatched"]) == (4, 1)
    assert report["samples"] == [{"key": [population[0]["GMSFHM"]],
                                  "left": population[0]["XM"], "right": "错名"}]


# --- 系统对接: the provider's own API ----------------------------------------------------------


async def test_a_providers_api_cannot_be_pointed_into_the_node_or_its_machine(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, node: RunningNode
) -> None:
    """Else a provider could make the exchange call the node's own services, or a cloud's
    metadata service, on its behalf (the test node allows 127.0.0.1/32 alone)."""
    shared = await shared_entry(gateway, provider, consumer, items=("XM",))
    exchange_port = node.service_urls["exchange"].rsplit(":", 1)[1]
    for target in (f"http://127.0.0.2:{exchange_port}/internal/{{key}}",
                   "http://169.254.169.254/latest/meta-data/{key}",
                   "http://10.0.0.1/persons/{key}"):
        refused = await gateway.put(
            f"{EXCHANGE}/entries/{shared.code}/source-api", headers=bearer(provider["token"]),
            json={"url_template": target})
        assert refused.status_code == 422, (target, refused.text)
        assert refused.json()["type"].endswith("/source-api-refused")
        assert refused.json()["field"] == "url_template"


async def test_a_query_can_be_served_by_the_providers_own_api_and_is_filtered_alike(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, exchange_db: AsyncEngine
) -> None:
    shared = await shared_entry(gateway, provider, consumer, items=("XM",))
    person = people(1)[0]
    port, api_key = free_port(), "8f14e45fceea167a5a36dedd4bea2543"

    async def lookup(request: web.Request) -> web.Response:
        if request.headers.get("X-Api-Key") != api_key:
            return web.Response(status=401)
        if request.match_info["key"] != person["GMSFHM"]:
            return web.Response(status=404)
        return web.json_response({**person, "HJDZ": "南京市玄武区"})

    app = web.Application()
    app.router.add_get("/persons/{key}", lookup)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        registered = await gateway.put(
            f"{EXCHANGE}/entries/{shared.code}/source-api", headers=bearer(provider["token"]),
            json={"url_template": f"http://127.0.0.1:{port}/persons/{{key}}",
                  "credential": {"header": "X-Api-Key", "value": api_key}})
        assert registered.status_code == 200, registered.text
        assert registered.json()["credential_header"] == "X-Api-Key"
        assert api_key not in registered.text
        async with exchange_db.connect() as connection:  # what a database dump would show
            stored = (await connection.execute(text(
                "SELECT credential FROM source_api WHERE entry_code = :c"),
                {"c": shared.code})).scalar_one()
        assert stored.startswith("sealed:") and api_key not in stored

        found = await query(gateway, consumer, shared.code, person["GMSFHM"])
        assert found.json()["record"] == {"XM": person["XM"]}, found.text
        absent = await query(gateway, consumer, shared.code, shared.rows[0]["GMSFHM"])
        assert absent.status_code == 404
    finally:
        await runner.cleanup()


async def test_a_providers_api_whose_address_changed_inward_is_not_called(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, exchange_db: AsyncEngine,
    node: RunningNode
) -> None:
    """Checked at registration is not enough: a name can lead elsewhere later (DNS
    rebinding). The registration is rewritten here as the changed answer would make it."""
    shared = await shared_entry(gateway, provider, consumer, items=("XM",))
    registered = await gateway.put(
        f"{EXCHANGE}/entries/{shared.code}/source-api", headers=bearer(provider["token"]),
        json={"url_template": f"http://127.0.0.1:{free_port()}/persons/{{key}}"})
    assert registered.status_code == 200, registered.text
    exchange_port = node.service_urls["exchange"].rsplit(":", 1)[1]
    async with exchange_db.begin() as connection:
        await connection.execute(text(
            "UPDATE source_api SET url_template = :u WHERE entry_code = :c"),
            {"u": f"http://127.0.0.2:{exchange_port}/internal/grants/{{key}}",
             "c": shared.code})
    refused = await query(gateway, consumer, shared.code, shared.rows[0]["GMSFHM"])
    assert refused.status_code == 502, refused.text
    assert refused.json()["type"].endswith("/source-unavailable")
    assert "127.0.0.2" in refused.json()["detail"]


async def test_the_query_fast_path_checks_its_parameters_and_the_role(
    gateway: httpx.AsyncClient, provider: Party, consumer: Party, admin_token: str
) -> None:
    shared = await shared_entry(gateway, provider, consumer)
    path = f"{EXCHANGE}/entries/{shared.code}/record"
    auth = bearer(consumer["token"])
    cases = {
        ("key", 422): await gateway.get(path, params={"purpose": "data_verification"},
                                        headers=auth),
        ("purpose", 422): await gateway.get(path, params={"key": "1", "purpose": "gossip"},
                                            headers=auth),
        ("items", 422): await gateway.get(path, params={
            "key": shared.rows[0]["GMSFHM"], "purpose": "data_verification",
            "items": "X M"}, headers=auth),
    }
    for (name, status), response in cases.items():
        assert (response.status_code, response.json()["field"]) == (status, name)
    reviewer_only = await gateway.get(path, params={"key": "1", "purpose": "data_verification"},
                                      headers=bearer(admin_token))
    assert (reviewer_only.status_code, reviewer_only.json()["reason"]) == (403, "missing_role")
    assert "x-request-id" in reviewer_only.headers
