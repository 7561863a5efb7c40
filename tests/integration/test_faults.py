"""Faults injected into a node of its own (its own PostgreSQL, broker and processes): a
service killed with -9 in the middle of sustained writes, of a stream of events it makes or
applies, of a bulk load, of streamed ingest and of a subscriber's deliveries; PostgreSQL
stopped under a steady load; the broker killed and replaced by an empty one. Every answered
write is kept, nothing is applied twice, nothing hangs, a caller is told to retry, and the
read models of every consumer converge. The kills share the one node and are staged so that
their recoveries overlap (it runs in CI on 2 cores)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from cli.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from shared.contracts.exchange import RecordsLoaded
from shared.db import create_engine
from shared.workdays import china_date
from tests import factories
from tests.conftest import Infrastructure, NodeProcesses, RunningNode
from tests.integration.conftest import (
    ENTRIES,
    REQUESTS,
    Party,
    answer,
    application,
    bearer,
    conditional_entry,
    new_admin,
    new_party,
    publish,
    submit,
)
from tests.integration.portal_people import form_token, sign_in, staff_user
from tests.integration.streaming import streaming_system
from tests.integration.test_exchange import (
    EXCHANGE,
    Shared,
    as_csv,
    people,
    query,
    shared_entry,
)
from tests.integration.test_outbox_delivery import records_on_broker

pytestmark = pytest.mark.last  # a node of its own: run after the shared node's tests


@dataclass
class FaultyNode:
    infrastructure: Infrastructure
    postgres: EmbeddedPostgres
    broker: EmbeddedBroker
    processes: NodeProcesses
    node: RunningNode
    admin_token: str

    def restart(self, name: str) -> None:
        self.processes.start_one(name)

    async def sql(self, query: str, **params: Any) -> Any:
        """One value from the node's database (the tests' independent view of the state)."""
        return (await self.rows(query, **params))[0][0]

    async def rows(self, query: str, **params: Any) -> list[tuple[Any, ...]]:
        """The rows a query reads from the node's database."""
        engine = create_engine(self.infrastructure.database_url, schema="public")
        try:
            async with engine.connect() as connection:
                return [tuple(row) for row in await connection.execute(text(query), params)]
        finally:
            await engine.dispose()


@pytest.fixture(scope="module")
async def faulty(request: pytest.FixtureRequest) -> AsyncIterator[FaultyNode]:
    workdir = Path(tempfile.mkdtemp(prefix="govshare-faults-"))
    postgres = EmbeddedPostgres(workdir / "postgres")  # kept across its own restarts
    broker = EmbeddedBroker(free_port(), log_file=workdir / "broker.log")
    # Its start runs an event loop of its own: not on this one.
    infrastructure = Infrastructure(await asyncio.to_thread(postgres.start), broker.start(),
                                    workdir)
    processes = NodeProcesses(infrastructure)
    try:
        node = processes.start()
        yield FaultyNode(infrastructure, postgres, broker, processes, node,
                         await new_admin(infrastructure, node))
    finally:
        processes.stop()
        broker.stop()
        postgres.stop()
        if request.session.testsfailed:
            print(f"\nlogs of the faulty node's processes: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
async def http(faulty: FaultyNode) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=faulty.node.gateway_url, timeout=30) as client:
        yield client


async def until(check: Callable[[], Awaitable[bool]], within: float = 60.0) -> None:
    async with asyncio.timeout(within):
        # The state is written by other processes: there is no event here to await.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.3)


async def publish_quietly(http: httpx.AsyncClient, party: Party) -> str | None:
    """Create and publish an entry; the code if both were answered, None if a call failed
    (the service was down): what a caller knows it has."""
    with contextlib.suppress(httpx.HTTPError):
        created = await http.post(ENTRIES, json=factories.population_entry(),
                                  headers=bearer(party["token"]))
        if created.status_code == 201:
            code = created.json()["code"]
            published = await http.post(f"{ENTRIES}/{code}/publish",
                                         headers=bearer(party["token"]))
            return code if published.status_code == 200 else None
    return None


async def test_catalog_killed_mid_writes_keeps_every_answered_write_and_reaches_each_model_once(
    faulty: FaultyNode, http: httpx.AsyncClient
) -> None:
    party = await new_party(http, faulty.admin_token)
    writers = [asyncio.create_task(publish_quietly(http, party)) for _ in range(30)]
    await asyncio.sleep(1.0)
    faulty.processes.kill("catalog")
    await asyncio.sleep(0.5)
    faulty.restart("catalog")
    after_restart = await publish_quietly(http, party)
    assert after_restart, "the restarted catalog takes writes"
    answered = {code for code in await asyncio.gather(*writers) if code} | {after_restart}

    provider = party["credit_code"]
    published_in_catalog = await faulty.sql(
        "SELECT count(*) FROM catalog.entry WHERE provider = :p AND status = 'published'",
        p=provider)
    for code in answered:
        entry = await http.get(f"{ENTRIES}/{code}", headers=bearer(party["token"]))
        assert entry.json()["status"] == "published", code
    # Each read model holds exactly what the catalog published: nothing lost on the way,
    # nothing doubled (the catalog's outbox and the consumers' inboxes survive the kill).
    await read_models_hold(faulty, provider, published_in_catalog)


async def read_models_hold(faulty: FaultyNode, provider: str, entries: int,
                           within: float = 60.0) -> None:
    """Wait until every service's view of the catalog holds `entries` of `provider`."""
    for table in ('"authorization".shared_resource', "exchange.resource",
                  "evaluation.catalog_entry"):
        async def caught_up(table: str = table) -> bool:
            return await faulty.sql(f"SELECT count(*) FROM {table} WHERE provider = :p",
                                    p=provider) == entries
        await until(caught_up, within)


async def test_requests_and_answers_survive_kills_of_who_makes_and_who_applies_their_events(
    faulty: FaultyNode, http: httpx.AsyncClient
) -> None:
    """The authorization service killed while it answers; the evaluation and the portal,
    which apply its events, killed while requests stream in: each approved request is
    granted once, and the exchange's grants, the evaluation's requests and the portal's
    notices each hold it once."""
    provider = await new_party(http, faulty.admin_token)
    consumer = await new_party(http, faulty.admin_token)
    code = await publish(http, provider, conditional_entry())
    submissions = [asyncio.create_task(submit(http, consumer, application(code)))
                   for _ in range(12)]
    await until(lambda: _requests_stored(faulty, consumer, at_least=3))
    for consumer_of_the_events in ("evaluation", "portal"):
        faulty.processes.kill(consumer_of_the_events)
    # Started again while the requests go on streaming in (and their events pile up).
    await asyncio.gather(*(asyncio.to_thread(faulty.restart, name)
                           for name in ("evaluation", "portal")))
    requests = [response.json()["id"] for response in await asyncio.gather(*submissions)]

    async def approve(request_id: str) -> int | None:
        with contextlib.suppress(httpx.HTTPError):
            return (await answer(http, provider, request_id, approve=True)).status_code
        return None

    answers = [asyncio.create_task(approve(request_id)) for request_id in requests]
    await until(lambda: _granted(faulty, consumer, at_least=3))
    faulty.processes.kill("authorization")
    faulty.restart("authorization")
    first = dict(zip(requests, await asyncio.gather(*answers), strict=True))
    # The provider's system answers again what it got no answer for: an answer the killed
    # process had kept is not taken twice (409), the others are taken now.
    for request_id, status in first.items():
        if status != 200:
            assert await approve(request_id) in (200, 409), request_id
    grants = await _grants_of(faulty, consumer)
    assert sorted(grants) == sorted(requests)  # each request granted, once

    async def exchange_knows_each_grant_once() -> bool:
        seen = await faulty.sql("SELECT count(*) FROM exchange.grant_view WHERE consumer = :c",
                                c=consumer["credit_code"])
        return seen == len(grants)
    await until(exchange_knows_each_grant_once)
    await the_evaluation_and_the_portal_hold_each_request_once(faulty, provider, consumer,
                                                              grants)


async def _granted(faulty: FaultyNode, consumer: Party, at_least: int) -> bool:
    return await faulty.sql("SELECT count(*) FROM \"authorization\".share_grant "
                            "WHERE consumer = :c", c=consumer["credit_code"]) >= at_least


async def _grants_of(faulty: FaultyNode, consumer: Party) -> dict[str, str]:
    """The consumer's grants by the request each answers; none granted twice."""
    rows = await faulty.rows("SELECT request_id::text, id::text FROM \"authorization\"."
                             "share_grant WHERE consumer = :c", c=consumer["credit_code"])
    grants = dict(rows)
    assert len(grants) == len(rows), f"a request granted twice: {rows}"
    return grants


async def _requests_stored(faulty: FaultyNode, consumer: Party, at_least: int) -> bool:
    return await faulty.sql("SELECT count(*) FROM \"authorization\".share_request "
                            "WHERE consumer = :c", c=consumer["credit_code"]) >= at_least


async def the_evaluation_and_the_portal_hold_each_request_once(
    faulty: FaultyNode, provider: Party, consumer: Party, grants: dict[str, str],
    within: float = 60.0
) -> None:
    """The evaluation's facts of the consumer's requests are the authorization service's, in
    their last version; the portal told each party of each step once: the provider of each
    request, the consumer of each answer and each grant (`grants`: request → grant)."""
    requests = sorted(await faulty.rows(
        "SELECT id::text, version, status FROM \"authorization\".share_request "
        "WHERE consumer = :c", c=consumer["credit_code"]))

    async def evaluation_holds_them() -> bool:
        return sorted(await faulty.rows(
            "SELECT id::text, version, status FROM evaluation.request_fact "
            "WHERE consumer = :c", c=consumer["credit_code"])) == requests
    await until(evaluation_holds_them, within)

    told = sorted(
        [("request_submitted", f"/requests/{request}", provider["credit_code"])
         for request, _, _ in requests]
        + [("request_answered", f"/requests/{request}", consumer["credit_code"])
           for request, _, status in requests if status != "submitted"]
        + [("grant_issued", f"/grants/{grant}", consumer["credit_code"])
           for grant in grants.values()])
    notices: list[tuple[str, str, str]] = []

    async def portal_told_each_once() -> bool:
        notices[:] = sorted(await faulty.rows(
            "SELECT kind, link, department FROM portal.notice WHERE department IN (:p, :c) "
            "AND kind IN ('request_submitted', 'request_answered', 'grant_issued')",
            p=provider["credit_code"], c=consumer["credit_code"]))
        return notices == told
    try:
        await until(portal_told_each_once, within)
    except TimeoutError:
        raise AssertionError(f"told {notices}, not {told}") from None


@dataclass(frozen=True)
class PeopleFile:
    """A CSV of people, every 997th row's ID number wrong (its check digit)."""

    body: bytes
    keys: dict[int, str]  # line → ID number, for the rows that are valid
    refused: list[int]  # lines refused

    @classmethod
    def of(cls, rows: int) -> PeopleFile:
        lines, keys, refused = ["GMSFHM,XM,CSRQ"], {}, []
        for line in range(2, rows + 2):
            if line % 997 == 0:
                lines.append(f"110101199003071234,{factories.person_name()},1990-03-07")
                refused.append(line)
            else:
                keys[line] = factories.id_number()
                lines.append(f"{keys[line]},{factories.person_name()},1980-01-01")
        return cls(("\n".join(lines) + "\n").encode(), keys, refused)

    def through(self, last_line: int) -> tuple[int, set[str], list[int]]:
        """Rows accepted, distinct keys stored and lines refused up to `last_line`."""
        accepted = [key for line, key in self.keys.items() if line <= last_line]
        return (len(accepted), set(accepted),
                [line for line in self.refused if line <= last_line])


STREAMED = 400  # records a provider's system streams, a few at a time, across the kill


@dataclass
class StreamToSubscriber:
    """An entry a provider's system streams records to, a few at a time, and a consumer's
    Kafka subscription to its changes."""

    faulty: FaultyNode
    shared: Shared  # the entry, loaded with a few rows first, and the consumer's grant
    streamed: list[dict[str, str]]
    subscription: dict[str, Any]
    streaming: asyncio.Task[None]

    @classmethod
    async def start(cls, faulty: FaultyNode, http: httpx.AsyncClient, provider: Party,
                    consumer: Party) -> StreamToSubscriber:
        shared = await shared_entry(http, provider, consumer, count=5)
        subscribed = await http.post(f"{EXCHANGE}/subscriptions", headers=bearer(
            consumer["token"]), json={"entry_code": shared.code, "delivery": "kafka",
                                      "purpose": "data_verification", "from_beginning": True})
        assert subscribed.status_code == 201, subscribed.text
        system = await streaming_system(http, faulty.admin_token, provider)
        streamed = people(STREAMED)

        async def stream() -> None:
            for first in range(0, len(streamed), 25):
                await system.stream(faulty.infrastructure.bootstrap_servers, shared.code,
                                    streamed[first:first + 25])
                await asyncio.sleep(0.3)
        return cls(faulty, shared, streamed, subscribed.json(), asyncio.create_task(stream()))

    async def in_flight(self) -> bool:
        """Whether the exchange is storing the streamed records and delivering them."""
        return (await self._delivered() > len(self.shared.rows)
                and await _stored(self.faulty, self.shared.code, at_least=50))

    async def holds_each_once(self) -> None:
        """Every record stored once and counted once; every change delivered, a change
        sent again only under the idempotency key it had and saying the same."""
        await self.streaming
        code, keys = self.shared.code, {p["GMSFHM"] for p in self.shared.rows + self.streamed}

        async def all_stored_and_counted() -> bool:
            pending = await self.faulty.sql("SELECT ingested_accepted FROM exchange.resource "
                                            "WHERE code = :c", c=code)
            return await _stored_count(self.faulty, code) == len(keys) and pending == 0
        await until(all_stored_and_counted, within=90)
        # What the exchange said it loaded, each count in the transaction that took it out
        # of the entry's tally: a record applied twice would be counted twice.
        assert await self.faulty.sql(
            "SELECT sum((envelope::jsonb #>> '{data,accepted}')::int) FROM "
            "exchange.outbox_event WHERE type = :t AND key = :c",
            t=RecordsLoaded.event_type, c=code) == len(keys)

        async def all_delivered() -> bool:
            return await self._delivered() >= len(keys)
        await until(all_delivered, within=60)
        assert await self._delivered() == len(keys)
        changes: dict[str, dict[str, Any]] = {}
        for record in await records_on_broker(self.faulty.infrastructure.bootstrap_servers,
                                              self.subscription["topic"]):
            change = json.loads(record.value)
            kept = changes.setdefault(change["idempotency_key"], change)
            assert kept == change, "a change sent again says something else"
        assert len(changes) == len(keys)
        assert {change["record"]["GMSFHM"] for change in changes.values()} == keys

    async def _delivered(self) -> int:
        return int(await self.faulty.sql("SELECT delivered FROM exchange.subscription "
                                         "WHERE id = :s", s=self.subscription["id"]))


async def test_exchange_killed_mid_load_mid_stream_and_mid_delivery_loses_and_doubles_nothing(
    faulty: FaultyNode, http: httpx.AsyncClient
) -> None:
    """Killed while it takes a bulk load, stores records streamed to it and delivers changes
    to a subscriber: the restarted exchange closes the load interrupted with what it stored,
    and it resumes; every streamed record is stored and counted once; the subscriber gets
    every change, at least once as E4 promises: a change sent again carries the idempotency
    key it had and says the same, so the subscriber keeps each once by that key."""
    party = await new_party(http, faulty.admin_token)
    stream = await StreamToSubscriber.start(faulty, http, party,
                                            await new_party(http, faulty.admin_token))
    code = await publish(http, party, factories.population_entry())
    lines = PeopleFile.of(120_000)
    records = f"/api/exchange/entries/{code}/records"
    await until(lambda: _resource_known(faulty, code))

    async def load(paced: bool = False, **params: str) -> httpx.Response | None:
        with contextlib.suppress(httpx.HTTPError):
            return await http.post(records, content=_paced(lines.body) if paced else lines.body,
                                   timeout=120, params=params,
                                   headers={**bearer(party["token"]), "content-type": "text/csv"})
        return None

    await until(stream.in_flight)
    # Sent as a slow client sends it, so the load is still running when the exchange dies,
    # however fast it stores what it has.
    loading = asyncio.create_task(load(paced=True))
    await until(lambda: _stored(faulty, code, at_least=1), within=60)
    faulty.processes.kill("exchange")
    cut = await loading
    assert cut is None or cut.status_code >= 500
    faulty.restart("exchange")

    # The restarted exchange closes the load its predecessor was running when it died.
    interrupted = await _the_load(http, party, code, "interrupted")
    accepted, keys, refused = lines.through(interrupted["last_line"])
    assert 1 < interrupted["last_line"] < len(lines.keys) + len(lines.refused) + 1
    assert (interrupted["accepted"], interrupted["rejected"]) == (accepted, len(refused))
    assert [rejection["line"] for rejection in interrupted["rejections"]] == refused
    assert interrupted["finished_at"] is not None
    assert await _stored_count(faulty, code) == len(keys)  # whole batches, nothing more
    survey = (await http.get("/api/exchange/freshness", headers=bearer(party["token"]))).json()
    assert next(entry for entry in survey if entry["entry_code"] == code)["state"] != "no_data"

    resumed = await load(resume=interrupted["id"])
    assert resumed is not None and resumed.status_code == 200, resumed and resumed.text
    report = resumed.json()
    accepted, keys, refused = lines.through(10**9)
    assert (report["id"], report["status"]) == (interrupted["id"], "completed")
    assert (report["accepted"], report["rejected"]) == (accepted, len(refused))
    assert [rejection["line"] for rejection in report["rejections"]] == refused
    assert await _stored_count(faulty, code) == len(keys)
    again = await load(resume=interrupted["id"])
    assert again is not None and again.status_code == 409, again and again.text

    # The whole file sent again, as a client that knows nothing of resuming does: the same.
    reloaded = await load()
    assert reloaded is not None and reloaded.status_code == 200, reloaded and reloaded.text
    assert reloaded.json()["accepted"] == accepted
    assert await _stored_count(faulty, code) == len(keys)
    await stream.holds_each_once()


async def _paced(body: bytes, piece: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), piece):
        yield body[start:start + piece]
        await asyncio.sleep(0.05)


async def _the_load(http: httpx.AsyncClient, party: Party, code: str,
                    status: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    async def listed() -> bool:
        found[:] = (await http.get("/api/exchange/loads", headers=bearer(party["token"]),
                                   params={"entry_code": code, "status": status})).json()["items"]
        return bool(found)
    await until(listed, within=30)
    return found[0]


async def _stored_count(faulty: FaultyNode, code: str) -> int:
    return int(await faulty.sql("SELECT count(*) FROM exchange.record WHERE entry_code = :e "
                                "AND NOT deleted", e=code))


async def _resource_known(faulty: FaultyNode, code: str) -> bool:
    return bool(await faulty.sql("SELECT count(*) FROM exchange.resource WHERE code = :c",
                                 c=code))


async def _stored(faulty: FaultyNode, code: str, at_least: int) -> bool:
    return await faulty.sql("SELECT count(*) FROM exchange.record WHERE entry_code = :e",
                            e=code) >= at_least


# The outage: long enough for every kind of call to meet it several times over, and
# past every retry a driver or pool makes on its own.
OUTAGE_SECONDS = 10.0
# Longest a caller may wait for any answer: a call held past this hung.
PATIENCE_SECONDS = 8.0
PROBLEM = "application/problem+json"
HTML = "text/html"


@dataclass(frozen=True)
class Answer:
    """What a caller saw of one call."""

    call: str
    sent_at: float
    took: float
    status: int | None  # None: no answer (the connection failed, or the wait ran out)
    media_type: str = ""
    retry_after: str | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400

    @property
    def unavailable(self) -> bool:
        """A 503 that says so as its caller reads it (a problem; the portal's page for a
        person when the API behind it is away), and when to come back."""
        readable = self.media_type == PROBLEM or (
            self.call.startswith("portal") and self.media_type == HTML)
        return (self.status == 503 and readable and self.retry_after is not None
                and int(self.retry_after) > 0)


Call = Callable[[], Awaitable[httpx.Response]]


class SteadyCallers:
    """Callers calling each of `calls` in turn, as long as the block runs; every answer
    kept with when it was sent and how long it took."""

    def __init__(self, calls: dict[str, Call], callers: int = 2) -> None:
        self.calls, self.callers = calls, callers
        self.answers: list[Answer] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> SteadyCallers:
        self._tasks = [asyncio.create_task(self._call_in_turn(number))
                       for number in range(self.callers)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def answered_ok_since(self, moment: float) -> set[str]:
        return {a.call for a in self.answers if a.ok and a.sent_at >= moment}

    async def each_answered_ok_since(self, moment: float, within: float = 60.0) -> None:
        async def all_ok() -> bool:
            return self.answered_ok_since(moment) == set(self.calls)
        try:
            await until(all_ok, within)
        except TimeoutError:
            missing = set(self.calls) - self.answered_ok_since(moment)
            last = [a for a in self.answers if a.call in missing][-len(missing):]
            raise AssertionError(f"not answered since the moment: {last}") from None

    async def _call_in_turn(self, number: int) -> None:
        names = list(self.calls)
        names = names[number:] + names[:number]  # the callers do not march in step
        while True:
            for name in names:
                self.answers.append(await self._send(name))
                await asyncio.sleep(0.05)

    async def _send(self, name: str) -> Answer:
        loop = asyncio.get_running_loop()
        sent = loop.time()
        try:
            async with asyncio.timeout(PATIENCE_SECONDS):
                response = await self.calls[name]()
        except (httpx.HTTPError, TimeoutError) as error:
            return Answer(name, sent, loop.time() - sent, None, error=repr(error))
        return Answer(name, sent, loop.time() - sent, response.status_code,
                      response.headers.get("content-type", "").split(";")[0],
                      response.headers.get("retry-after"))


async def calls_to_every_service(faulty: FaultyNode, http: httpx.AsyncClient,
                                 admin: httpx.AsyncClient, reviewer: httpx.AsyncClient
                                 ) -> dict[str, Call]:
    """A write and a read of each service through the gateway (the exchange's online query
    on its fast path too), and the portal's own page and form, as their users call them."""
    provider = await new_party(http, faulty.admin_token)
    consumer = await new_party(http, faulty.admin_token)
    shared = await shared_entry(http, provider, consumer, count=1)
    conditional = await publish(http, provider, conditional_entry())
    for browser, roles, department in ((admin, ["node_admin"], None),
                                       (reviewer, ["request_reviewer"], provider)):
        user = await staff_user(http, faulty.admin_token, *roles,
                                department=department and department["credit_code"])
        assert (await sign_in(browser, user)).status_code == 303
    mail_page = "/admin/notice-mail"

    async def form() -> str:
        page = await admin.get(mail_page, params={"q": provider["credit_code"]})
        assert provider["name"] in page.text, page.text  # the portal knows the department
        return form_token(page)
    await until_passes(form)
    token = await form()
    as_provider, as_consumer = bearer(provider["token"]), bearer(consumer["token"])
    record = as_csv(people(1))
    this_year = str(china_date(datetime.now(UTC)).year)
    return {
        "catalog write": lambda: http.post(ENTRIES, json=factories.population_entry(),
                                           headers=as_provider),
        "catalog read": lambda: http.get(ENTRIES, params={"limit": 5}, headers=as_provider),
        "authorization write": lambda: http.post(REQUESTS, json=application(conditional),
                                                 headers=as_consumer),
        "authorization read": lambda: http.get(REQUESTS, params={"limit": 5},
                                               headers=as_consumer),
        "exchange write": lambda: http.post(f"{EXCHANGE}/entries/{shared.code}/records",
                                            content=record, headers={
                                                **as_provider, "content-type": "text/csv"}),
        "exchange read": lambda: http.get(f"{EXCHANGE}/loads", params={"limit": 5},
                                          headers=as_provider),
        "exchange query": lambda: query(http, consumer, shared.code, shared.rows[0]["GMSFHM"]),
        "evaluation write": lambda: http.post("/api/evaluation/systems", json=information_system(),
                                              headers=as_provider),
        "evaluation read": lambda: http.get("/api/evaluation/systems", headers=as_provider,
                                            params={"period": this_year, "limit": 5}),
        "portal page": lambda: admin.get(mail_page, params={"q": provider["credit_code"]}),
        "portal write": lambda: admin.post(mail_page, data={
            "csrf_token": token, "department": provider["credit_code"],
            "address": f"shuju{uuid.uuid4().hex[:6]}@example.cn"}),
        # The reviewer's workbench: the requests awaiting an answer, from the API.
        "portal page of the API": lambda: reviewer.get("/"),
    }


def browser(faulty: FaultyNode) -> httpx.AsyncClient:
    """A person's browser at the portal (its cookies its own)."""
    return httpx.AsyncClient(base_url=faulty.node.gateway_url, timeout=30)


def information_system() -> dict[str, str]:
    return {"name": f"人口信息管理系统{uuid.uuid4().hex[:8]}",
            "description": "户籍人口信息的登记与核验", "funding_source": "local_budget",
            "construction_funding": "0", "annual_om_funding": "80000"}


async def until_passes(check: Callable[[], Awaitable[object]], within: float = 30.0) -> None:
    """Until `check` stops failing its assertions."""
    async def passes() -> bool:
        try:
            await check()
        except AssertionError:
            return False
        return True
    await until(passes, within)


async def test_postgresql_stopped_under_load_answers_only_503_problems_and_all_recover(
    faulty: FaultyNode, http: httpx.AsyncClient
) -> None:
    """While it is away every call, to every service and the portal, is answered at once
    with a 503 saying when to retry; once it is back each takes writes again by itself."""
    loop = asyncio.get_running_loop()
    pids = {name: process.pid for name, process in faulty.processes.processes.items()}
    async with browser(faulty) as admin, browser(faulty) as reviewer:
        calls = await calls_to_every_service(faulty, http, admin, reviewer)
        async with SteadyCallers(calls) as load:
            await load.each_answered_ok_since(0)
            await asyncio.to_thread(faulty.postgres.stop)
            down = loop.time()
            try:
                await the_node_reads_the_database_down_yet_stays_ready(faulty, http)
                await asyncio.sleep(OUTAGE_SECONDS - (loop.time() - down))
                up = loop.time()
            finally:
                await asyncio.to_thread(faulty.postgres.start)
            back = loop.time()
            # Every service takes writes again by itself: no process was started again.
            await load.each_answered_ok_since(back)
    assert {name: process.pid for name, process in faulty.processes.processes.items()} == pids

    failed = [a for a in load.answers if a.status is None or a.status == 500]
    assert not failed, f"hung, cut off or failed: {failed[:5]}"
    during = [a for a in load.answers if a.sent_at >= down and a.sent_at + a.took <= up]
    assert {a.call for a in during} == set(calls), "every call was made during the outage"
    otherwise = [a for a in during if not a.unavailable]
    assert not otherwise, f"not a 503 saying when to retry: {otherwise[:5]}"


async def the_node_reads_the_database_down_yet_stays_ready(faulty: FaultyNode,
                                                             http: httpx.AsyncClient) -> None:
    """`/health` says the database is down, at once; every process stays ready, so that a
    load balancer keeps sending them calls (answered 503 with Retry-After) rather than
    answering every caller itself."""
    health = await http.get("/health", timeout=5)
    assert health.status_code == 503 and health.json()["database"]["status"] == "down"
    assert health.json()["database"]["error"], health.text
    for url in (faulty.node.gateway_url, *faulty.processes.urls.values()):
        ready = await http.get(f"{url}/health/ready", timeout=5)
        assert ready.status_code == 200, (url, ready.text)


async def test_a_broker_killed_reads_down_at_once_and_an_empty_one_after_it_loses_nothing(
    faulty: FaultyNode, http: httpx.AsyncClient
) -> None:
    """Work before, during and after the outage (departments registered, entries published,
    requests answered and granted) reaches every read model once when a new, empty broker
    takes the dead one's place: the catalog's departments, every service's entries, the
    exchange's grants, the evaluation's requests and the portal's notices."""
    party = await new_party(http, faulty.admin_token)
    consumer = await new_party(http, faulty.admin_token)
    conditional = await publish(http, party, conditional_entry())
    before = [await publish(http, party, factories.population_entry()) for _ in range(2)]
    requests = [(await submit(http, consumer, application(conditional))).json()["id"]
                for _ in range(3)]
    await _approve(http, party, requests[0])
    assert (await http.get("/health")).json()["broker"]["status"] == "up"
    faulty.broker.kill()
    try:
        await the_node_reads_the_broker_down_at_once_yet_stays_ready(faulty, http)
        during = [await publish(http, party, factories.population_entry()) for _ in range(2)]
        await _approve(http, party, requests[1])
        departments = [await _register(http, faulty.admin_token)]
    finally:
        faulty.broker.start()  # a new, empty broker on the same address
    await until(lambda: _reads(http, "/health", status=200, broker="up"), within=30)
    after = [await publish(http, party, factories.population_entry()) for _ in range(2)]
    await _approve(http, party, requests[2])
    departments.append(await _register(http, faulty.admin_token))

    published = [conditional, *before, *during, *after]
    await read_models_hold(faulty, party["credit_code"], len(published), within=120)
    known = {party["credit_code"], consumer["credit_code"], *departments}

    async def catalog_knows_each_department() -> bool:
        return await faulty.sql("SELECT count(*) FROM catalog.department "
                                "WHERE credit_code = ANY(:d)", d=list(known)) == len(known)
    await until(catalog_knows_each_department)
    grants = await _grants_of(faulty, consumer)
    assert sorted(grants) == sorted(requests)

    async def exchange_holds_each_grant_once() -> bool:
        return sorted(grants.values()) == sorted(
            grant for grant, in await faulty.rows(
                "SELECT id::text FROM exchange.grant_view WHERE consumer = :c",
                c=consumer["credit_code"]))
    await until(exchange_holds_each_grant_once)
    await the_evaluation_and_the_portal_hold_each_request_once(faulty, party, consumer, grants)


async def the_node_reads_the_broker_down_at_once_yet_stays_ready(
    faulty: FaultyNode, http: httpx.AsyncClient
) -> None:
    """`/health` of the node and of each service says the broker is down, and why, within
    5 s, and so does each one's gauge; each stays live and ready, taking writes into its
    outbox (every replica shares the broker)."""
    killed = asyncio.get_running_loop().time()
    await until(lambda: _reads(http, "/health", status=503, broker="down"), within=5)
    assert asyncio.get_running_loop().time() - killed < 5
    for name, url in faulty.node.service_urls.items():
        health = await http.get(f"{url}/health")
        assert health.status_code == 503, name
        assert health.json()["broker"]["status"] == "down" and health.json()["broker"]["error"]
        assert health.json()["database"]["status"] == "up", name
        assert (await http.get(f"{url}/health/ready")).status_code == 200, name
        assert (await http.get(f"{url}/health/live")).status_code == 200, name
        metrics = (await http.get(f"{url}/metrics")).text
        assert 'govshare_dependency_up{dependency="broker"} 0.0' in metrics, name
        assert 'govshare_dependency_up{dependency="database"} 1.0' in metrics, name
    assert (await http.get("/health/ready")).status_code == 200
    assert (await http.get("/health/live")).status_code == 200


async def _reads(http: httpx.AsyncClient, path: str, *, status: int, broker: str) -> bool:
    answer = await http.get(path, timeout=10)
    return answer.status_code == status and answer.json()["broker"]["status"] == broker


async def _approve(http: httpx.AsyncClient, provider: Party, request_id: str) -> None:
    approved = await answer(http, provider, request_id, approve=True)
    assert approved.status_code == 200, approved.text


async def _register(http: httpx.AsyncClient, admin_token: str) -> str:
    """A department registered (while the broker may be away: nothing waits for its event)."""
    department = factories.department()
    registered = await http.post("/api/authorization/departments", json=department,
                                 headers=bearer(admin_token))
    assert registered.status_code == 201, registered.text
    return department["credit_code"]
