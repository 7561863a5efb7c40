"""Faults injected into a node of its own (its own PostgreSQL, broker and processes): a
service killed with -9 in the middle of sustained writes, PostgreSQL stopped mid-load, the
broker replaced by an empty one. Every answered write is kept, nothing is applied twice,
nothing hangs, and the read models of every consumer converge."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from cli.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from shared.db import create_engine
from tests import factories
from tests.conftest import Infrastructure, NodeProcesses, RunningNode
from tests.integration.conftest import (
    ENTRIES,
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
        engine = create_engine(self.infrastructure.database_url, schema="public")
        try:
            async with engine.connect() as connection:
                return (await connection.execute(text(query), params)).scalar()
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


async def test_authorization_killed_mid_answers_grants_each_approved_request_once(
    faulty: FaultyNode, http: httpx.AsyncClient
) -> None:
    provider = await new_party(http, faulty.admin_token)
    consumer = await new_party(http, faulty.admin_token)
    code = await publish(http, provider, conditional_entry())
    requests = [(await submit(http, consumer, application(code))).json()["id"]
                for _ in range(12)]

    async def approve(request_id: str) -> str | None:
        with contextlib.suppress(httpx.HTTPError):
            if (await answer(http, provider, request_id, approved=True)).status_code == 200:
                return request_id
        return None

    answers = [asyncio.create_task(approve(request_id)) for request_id in requests]
    await asyncio.sleep(0.3)
    faulty.processes.kill("authorization")
    faulty.restart("authorization")
    approved = {request_id for request_id in await asyncio.gather(*answers) if request_id}
    for request_id in approved:
        grants = await faulty.sql(
            "SELECT count(*) FROM \"authorization\".share_grant WHERE request_id = :r",
            r=request_id)
        assert grants == 1, request_id
    stored_grants = await faulty.sql(
        "SELECT count(*) FROM \"authorization\".share_grant WHERE consumer = :c",
        c=consumer["credit_code"])
    assert stored_grants >= len(approved)

    async def exchange_knows_each_grant_once() -> bool:
        seen = await faulty.sql("SELECT count(*) FROM exchange.grant_view WHERE consumer = :c",
                                c=consumer["credit_code"])
        return seen == stored_grants
    await until(exchange_knows_each_grant_once)


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


async def test_exchange_killed_mid_load_closes_it_interrupted_with_what_it_stored_and_it_resumes(
    faulty: FaultyNode, http: httpx.AsyncClient
) -> None:
    party = await new_party(http, faulty.admin_token)
    code = await publish(http, party, factories.population_entry())
    people = PeopleFile.of(120_000)
    records = f"/api/exchange/entries/{code}/records"
    await until(lambda: _resource_known(faulty, code))

    async def load(**params: str) -> httpx.Response | None:
        with contextlib.suppress(httpx.HTTPError):
            return await http.post(records, content=people.body, timeout=120, params=params,
                                   headers={**bearer(party["token"]), "content-type": "text/csv"})
        return None

    loading = asyncio.create_task(load())
    await until(lambda: _stored(faulty, code, at_least=1), within=60)
    faulty.processes.kill("exchange")
    cut = await loading
    assert cut is None or cut.status_code >= 500
    faulty.restart("exchange")

    # The restarted exchange closes the load its predecessor was running when it died.
    interrupted = await _the_load(http, party, code, "interrupted")
    accepted, keys, refused = people.through(interrupted["last_line"])
    assert 1 < interrupted["last_line"] < len(people.keys) + len(people.refused) + 1
    assert (interrupted["accepted"], interrupted["rejected"]) == (accepted, len(refused))
    assert [rejection["line"] for rejection in interrupted["rejections"]] == refused
    assert interrupted["finished_at"] is not None
    assert await _stored_count(faulty, code) == len(keys)  # whole batches, nothing more
    survey = (await http.get("/api/exchange/freshness", headers=bearer(party["token"]))).json()
    assert next(entry for entry in survey if entry["entry_code"] == code)["state"] != "no_data"

    resumed = await load(resume=interrupted["id"])
    assert resumed is not None and resumed.status_code == 200, resumed and resumed.text
    report = resumed.json()
    accepted, keys, refused = people.through(10**9)
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


async def test_postgresql_stopped_answers_503_problems_and_the_services_recover_by_themselves(
    faulty: FaultyNode, http: httpx.AsyncClient
) -> None:
    party = await new_party(http, faulty.admin_token)
    faulty.postgres.stop()
    try:
        stopped = asyncio.get_running_loop().time()
        health = await http.get("/health", timeout=20)
        assert asyncio.get_running_loop().time() - stopped < 5
        assert health.status_code == 503 and health.json()["database"]["status"] == "down"
        assert health.json()["database"]["error"], health.text
        for method, body in (("GET", None), ("POST", factories.population_entry())):
            refused = await http.request(method, ENTRIES, json=body, timeout=20,
                                         headers=bearer(party["token"]))
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert int(refused.headers["retry-after"]) > 0
    finally:
        await asyncio.to_thread(faulty.postgres.start)

    async def writes_again() -> bool:
        return await publish_quietly(http, party) is not None
    await until(writes_again, within=60)


async def test_a_dead_broker_reads_down_within_seconds_and_up_once_a_new_one_listens(
    faulty: FaultyNode, http: httpx.AsyncClient
) -> None:
    assert (await http.get("/health")).json()["broker"]["status"] == "up"
    faulty.broker.kill()
    try:
        killed = asyncio.get_running_loop().time()
        await until(lambda: _reads(http, "/health", status=503, broker="down"), within=5)
        assert asyncio.get_running_loop().time() - killed < 5
        for name, url in faulty.node.service_urls.items():
            ready = await http.get(f"{url}/health/ready")
            assert ready.status_code == 503, name
            assert ready.json()["broker"]["status"] == "down" and ready.json()["broker"]["error"]
            assert ready.json()["database"]["status"] == "up", name
            assert (await http.get(f"{url}/health/live")).status_code == 200, name
            metrics = (await http.get(f"{url}/metrics")).text
            assert 'govshare_dependency_up{dependency="broker"} 0.0' in metrics, name
            assert 'govshare_dependency_up{dependency="database"} 1.0' in metrics, name
        assert (await http.get("/health/ready")).status_code == 503
        assert (await http.get("/health/live")).status_code == 200
    finally:
        faulty.broker.start()  # a new, empty broker on the same port
    await until(lambda: _reads(http, "/health/ready", status=200, broker="up"), within=30)


async def _reads(http: httpx.AsyncClient, path: str, *, status: int, broker: str) -> bool:
    answer = await http.get(path, timeout=10)
    return answer.status_code == status and answer.json()["broker"]["status"] == broker


async def test_a_broker_replaced_by_an_empty_one_loses_nothing_and_doubles_nothing(
    faulty: FaultyNode, http: httpx.AsyncClient
) -> None:
    party = await new_party(http, faulty.admin_token)
    before = [await publish(http, party, factories.population_entry()) for _ in range(3)]
    faulty.broker.stop()
    during = [await publish(http, party, factories.population_entry()) for _ in range(3)]
    faulty.broker.start()  # a new, empty broker on the same address
    after = [await publish(http, party, factories.population_entry()) for _ in range(3)]
    await read_models_hold(faulty, party["credit_code"], len(before + during + after),
                           within=120)
