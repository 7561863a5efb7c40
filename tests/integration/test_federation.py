"""Three tiers, one network (requirements §2): national 100000-external ← Jiangsu
320000-internal ← {Nanjing 320100-internal, Suzhou 320500-external}, each node with its own
database, broker and processes, linked by `govshare node link`. Catalogs flow up with
provenance (F1), internal-only entries never reach an external node (F3), a node that was
down catches up exactly once (F4), each node's audit chain is anchored at its parent, where
a rewrite of the child's shows (E5), catalogs flow down as well so that every node searches the
network in its own database (F6), and a department reaches any node of the tree through
the gateways on the way, each hop checked and written into the audited path (F5)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from services.evaluation import report_signature
from shared.contracts.anchoring import AUDIT_ANCHOR_TYPE
from shared.contracts.submissions import SUBMISSION_TYPE
from shared.db import create_engine
from shared.runtime import jwks_from_url
from shared.tokens import KeySet, unverified_claims, verify_statement
from tests import factories
from tests.collector import ReceivedSpan, TraceCollector
from tests.conftest import Infrastructure
from tests.integration.audit_anchoring import (
    VERIFICATION,
    node_token,
    restore,
    rewrite_chain,
    verified,
)
from tests.integration.conftest import application, bearer, new_party, register_department
from tests.integration.federation_network import (
    Node,
    invitation,
    start_network,
    stop_network,
)
from tests.integration.test_exchange import (
    Receiver,
    as_csv,
    people,
    person_entry,
    query,
    receiver,  # noqa: F401 (the webhook's fixture)
    shared_entry,
    upload,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def network(infrastructure: Infrastructure,
                  traces: TraceCollector) -> AsyncIterator[dict[str, Any]]:
    nodes = await start_network(infrastructure.database_url, infrastructure.workdir,
                                traces.endpoint)
    national, jiangsu, nanjing, suzhou = nodes
    try:
        links = ((national, jiangsu), (jiangsu, nanjing), (jiangsu, suzhou))
        codes = [await invitation(parent, child) for parent, child in links]
        # Each link is its own `govshare node link` on its child: run at once, on both cores.
        answers = await asyncio.gather(*(asyncio.to_thread(
            child.govshare, "node", "link", "--parent", parent.gateway_url,
            "--invitation", code, "--public-url", child.gateway_url)
            for (parent, child), code in zip(links, codes, strict=True)))
        for (parent, _), linked in zip(links, answers, strict=True):
            assert linked.returncode == 0, linked.stderr
            assert f"linked to its parent {parent.node_id}" in linked.stdout
        clients = {node.region: httpx.AsyncClient(base_url=node.gateway_url, timeout=30)
                   for node in nodes}
        registered = await asyncio.gather(*(register_department(
            clients[node.region], node.admin_token, "catalog_editor", tier=node.tier,
            region=node.region if node.region != "100000" else "110000") for node in nodes))
        editors = {node.region: editor for node, editor in zip(nodes, registered, strict=True)}
        yield {"nodes": {node.region: node for node in nodes}, "clients": clients,
               "editors": editors}
        for client in clients.values():
            await client.aclose()
    finally:
        stop_network(nodes)


async def publish(network: dict[str, Any], region: str, body: dict[str, Any]) -> dict[str, Any]:
    client, editor = network["clients"][region], network["editors"][region]
    created = await client.post("/api/catalog/entries", json=body,
                                headers=bearer(editor["token"]))
    assert created.status_code == 201, created.text
    published = await client.post(f"/api/catalog/entries/{created.json()['code']}/publish",
                                  headers=bearer(editor["token"]))
    assert published.status_code == 200, published.text
    return published.json()


async def publish_at(client: httpx.AsyncClient, party: dict[str, str],
                     body: dict[str, Any]) -> str:
    created = await client.post("/api/catalog/entries", json=body,
                                headers=bearer(party["token"]))
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    published = await client.post(f"/api/catalog/entries/{code}/publish",
                                  headers=bearer(party["token"]))
    assert published.status_code == 200, published.text
    return str(code)


async def found_at(network: dict[str, Any], region: str, name: str,
                   seconds: float = 30) -> dict[str, Any] | None:
    """The entry called `name` as the node's search (scope all) shows it, once it does."""
    node: Node = network["nodes"][region]
    client = network["clients"][region]
    async with asyncio.timeout(seconds):
        while True:
            response = await client.get("/api/catalog/search", params={
                "q": name, "scope": "all"}, headers=bearer(node.admin_token))
            items = [item for item in response.json()["items"] if item["name"] == name]
            if items:
                return items[0]
            await asyncio.sleep(0.2)


async def absent_at(network: dict[str, Any], region: str, name: str) -> bool:
    node: Node = network["nodes"][region]
    response = await network["clients"][region].get("/api/catalog/search", params={
        "q": name, "scope": "all"}, headers=bearer(node.admin_token))
    return all(item["name"] != name for item in response.json()["items"])


def entry_named(name: str, **changes: Any) -> dict[str, Any]:
    return {**factories.population_entry(name), **changes}


async def test_an_entry_published_in_nanjing_reaches_the_national_node_with_its_provenance(
    network: dict[str, Any]
) -> None:
    name = f"南京市流动人口居住登记信息{uuid.uuid4().hex[:6]}"
    published = await publish(network, "320100", entry_named(name))
    at_jiangsu = await found_at(network, "320000", name)
    at_national = await found_at(network, "100000", name)
    assert at_jiangsu and at_national
    assert (at_national["node"], at_national["code"], at_national["provider"]) == (
        "320100-internal", published["code"], network["editors"]["320100"]["credit_code"])
    assert at_national["aggregated_via"] == ["320100-internal", "320000-internal"]
    assert at_jiangsu["aggregated_via"] == ["320100-internal"]
    local_only = await network["clients"]["100000"].get("/api/catalog/search", params={
        "q": name}, headers=bearer(network["nodes"]["100000"].admin_token))
    assert local_only.json()["total"] == 0  # the default scope is the node's own catalog

    withdrawn = await network["clients"]["320100"].post(
        f"/api/catalog/entries/{published['code']}/withdraw", json={"reason": "已整合"},
        headers=bearer(network["editors"]["320100"]["token"]))
    assert withdrawn.status_code == 200, withdrawn.text
    async with asyncio.timeout(30):
        while True:
            if await absent_at(network, "100000", name):
                break
            await asyncio.sleep(0.2)


async def test_an_internal_only_entry_stops_at_the_last_internal_node(
    network: dict[str, Any], infrastructure: Infrastructure
) -> None:
    secret = f"南京市涉密人员管理信息{uuid.uuid4().hex[:6]}"
    public = f"南京市社区矫正人员信息{uuid.uuid4().hex[:6]}"
    classified = await publish(network, "320100", entry_named(secret, classified=True))
    await publish(network, "320100", entry_named(public))
    assert await found_at(network, "320000", secret)  # internal to internal: allowed
    assert await found_at(network, "100000", public)  # published after it: the push passed it
    assert await absent_at(network, "100000", secret)
    national = create_engine(network["nodes"]["100000"].database_url, schema="catalog")
    try:
        async with national.connect() as connection:
            crossed = await connection.scalar(text(
                "SELECT count(*) FROM federation_receipt WHERE payload::text LIKE :code "
                "OR payload::text LIKE :name"),
                {"code": f"%{classified['code']}%", "name": f"%{secret}%"})
            received = await connection.scalar(text("SELECT count(*) FROM federation_receipt"))
    finally:
        await national.dispose()
    assert (crossed, received > 0) == (0, True)  # batches arrived, none carried it


async def test_a_parent_that_was_down_catches_up_once_and_a_restarted_child_resumes(
    network: dict[str, Any]
) -> None:
    jiangsu: Node = network["nodes"]["320000"]
    nanjing: Node = network["nodes"]["320100"]
    jiangsu.stop("catalog")
    names = [f"南京市居住证办理信息{uuid.uuid4().hex[:6]}" for _ in range(6)]
    try:
        for name in names[:3]:
            await publish(network, "320100", entry_named(name))
        await asyncio.sleep(1)  # pushes fail meanwhile; the cursor waits
        status = await network["clients"]["320100"].get(
            "/api/catalog/federation/status", headers=bearer(nanjing.admin_token))
        parent = next(peer for peer in status.json()["peers"] if peer["relation"] == "parent")
        assert parent["last_error"]
    finally:
        jiangsu.start("catalog")
    for name in names[3:]:
        await publish(network, "320100", entry_named(name))
    nanjing.kill("catalog")  # mid-sync, without a goodbye
    nanjing.start("catalog")
    for name in names:
        assert await found_at(network, "100000", name)
    for region in ("320000", "100000"):
        engine = create_engine(network["nodes"][region].database_url, schema="catalog")
        try:
            async with engine.connect() as connection:
                applied = await connection.execute(text(
                    "SELECT code, count(*) FROM federated_entry WHERE name = ANY(:names) "
                    "GROUP BY code"), {"names": names})
                counts = dict(applied.all())
                queued = await connection.scalar(text(
                    "SELECT count(*) FROM federation_feed WHERE code = ANY(:codes) "
                    "AND origin_node = '320100-internal'"), {"codes": list(counts)})
        finally:
            await engine.dispose()
        assert len(counts) == 6 and set(counts.values()) == {1}
        if region == "320000":
            assert queued == 6  # each applied once, so passed on once


async def test_two_contents_of_one_version_resolve_by_hash_and_are_listed(
    network: dict[str, Any]
) -> None:
    jiangsu: Node = network["nodes"]["320000"]
    nanjing: Node = network["nodes"]["320100"]
    name = f"南京市养犬登记信息{uuid.uuid4().hex[:6]}"
    published = await publish(network, "320100", entry_named(name))
    await found_at(network, "320000", name)
    async with httpx.AsyncClient(timeout=30) as client:
        token = (await client.post(f"{nanjing.url('authorization')}/internal/node-tokens",
                                   json={"audience": jiangsu.node_id})).json()["access_token"]
        other = {**published, "abstract": "一份从备份恢复的不同内容。"}
        item = {"entry": other, "provider_tier": "municipal", "provider_region": "320100",
                "classified": False, "path": ["320100-internal"]}
        answers = [await client.post(f"{jiangsu.gateway_url}/federation/catalog/entries",
                                     json={"entries": [item]}, headers=bearer(token))
                   for _ in range(2)]
    assert [answer.json()["conflicts"] for answer in answers] == [1, 0]
    conflicts = (await network["clients"]["320000"].get(
        "/api/catalog/federation/conflicts", headers=bearer(jiangsu.admin_token))).json()
    listed = next(row for row in conflicts["items"] if row["code"] == published["code"])
    held = await found_at(network, "320000", name)
    assert held is not None
    assert listed["kept_hash"] > listed["discarded_hash"]
    kept_abstract = held["abstract"]
    assert kept_abstract in (published["abstract"], other["abstract"])


async def test_node_calls_are_refused_without_a_linked_nodes_token_and_internals_stay_inside(
    network: dict[str, Any]
) -> None:
    national: Node = network["nodes"]["100000"]
    client = network["clients"]["100000"]
    batch = {"entries": []}
    local = await client.post("/federation/catalog/entries", json=batch,
                              headers=bearer(national.admin_token))
    assert (local.status_code, local.json()["reason"]) == (401, "node_not_linked")
    anonymous = await client.post("/federation/catalog/entries", json=batch)
    assert anonymous.status_code == 401
    internal = await client.post("/api/authorization/internal/node-tokens",
                                 json={"audience": "x"}, headers=bearer(national.admin_token))
    assert internal.status_code == 404
    reused = national.govshare("node", "link", "--parent", national.gateway_url,
                               "--invitation", "not-a-real-invitation-code")
    assert reused.returncode == 1 and "refused" in reused.stderr


# --- F2: a Nanjing department uses a Jiangsu resource, through both gateways -----------------


async def test_a_nanjing_department_finds_applies_for_queries_and_downloads_jiangsu_data(
    network: dict[str, Any], traces: TraceCollector
) -> None:
    jiangsu_node: Node = network["nodes"]["320000"]
    nanjing, jiangsu = network["clients"]["320100"], network["clients"]["320000"]
    roles = ("catalog_editor", "request_reviewer", "data_operator")
    provider = await register_department(jiangsu, jiangsu_node.admin_token, *roles,
                                         tier="provincial", region="320000")
    consumer = await register_department(nanjing, network["nodes"]["320100"].admin_token,
                                         *roles)
    body = person_entry(type="conditional", conditions="仅限核验参保人员身份",
                        permitted_uses=["data_verification"])
    code = await publish_at(jiangsu, provider, body)
    rows = people(5)
    loaded = await upload(jiangsu, provider, code, as_csv(rows))
    assert loaded.status_code == 200, loaded.text
    remote = "/nodes/320000-internal/api"
    auth = bearer(consumer["token"])

    found = await nanjing.get(f"{remote}/catalog/search", params={"q": body["name"]},
                              headers=auth)
    assert found.status_code == 200, found.text
    assert [item["code"] for item in found.json()["items"]] == [code]

    filed = await nanjing.post(f"{remote}/authorization/requests", headers=auth,
                               json=application(code, items=["GMSFHM", "XM"], methods=[
                                   "online_query", "bulk_download", "system_integration"]))
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert (request["consumer"], request["provider"], request["status"]) == (
        consumer["credit_code"], provider["credit_code"], "submitted")
    assert request["node"] == "320000-internal" and request["due_on"]  # Jiangsu's clock
    answered = await jiangsu.post(f"/api/authorization/requests/{request['id']}/answer",
                                  json={"approve": True}, headers=bearer(provider["token"]))
    assert answered.status_code == 200, answered.text
    seen = await nanjing.get(f"{remote}/authorization/requests/{request['id']}", headers=auth)
    assert seen.json()["status"] == "approved"

    person = rows[0]
    async with asyncio.timeout(30):
        while True:  # until Jiangsu's exchange has the grant event
            queried = await nanjing.get(f"{remote}/exchange/entries/{code}/record", params={
                "key": person["GMSFHM"], "purpose": "data_verification"}, headers=auth)
            if queried.status_code == 200:
                break
            await asyncio.sleep(0.2)
    assert queried.json()["record"] == {"GMSFHM": person["GMSFHM"], "XM": person["XM"]}
    await _one_trace_through_both_gateways(nanjing, f"{remote}/exchange/entries/{code}/record",
                                           auth, person["GMSFHM"], traces)
    downloaded = await nanjing.get(f"{remote}/exchange/entries/{code}/records", params={
        "purpose": "data_verification", "format": "csv"}, headers=auth)
    assert downloaded.status_code == 200 and downloaded.headers["x-record-count"] == "5"
    assert len(downloaded.text.strip().splitlines()) == 6

    beyond = await nanjing.post(f"{remote}/catalog/entries", json=factories.population_entry(),
                                headers=auth)
    assert beyond.status_code == 403  # a remote department holds no catalog_editor here
    async with httpx.AsyncClient(timeout=30) as direct:  # a child speaking for a parent's dept
        forged = (await direct.post(
            f"{network['nodes']['320100'].url('authorization')}/internal/node-tokens",
            json={"audience": "320000-internal", "on_behalf_of": {
                "sub": "x", "department": provider["credit_code"],
                "roles": ["data_operator"]}})).json()["access_token"]
        refused = await direct.get(
            f"{jiangsu_node.gateway_url}/federation/relay/exchange/entries/{code}/records",
            params={"purpose": "data_verification"}, headers=bearer(forged))
    assert (refused.status_code, refused.json()["reason"]) == (403, "delegation_refused")
    across_zones = await network["clients"]["100000"].get(
        f"{remote}/catalog/search", params={"q": body["name"]},
        headers=bearer(network["editors"]["100000"]["token"]))
    assert (across_zones.status_code, across_zones.json()["reason"]) == (403, "zone_boundary")

    await _both_ends_audited(network, consumer, code)

    subscribed = await nanjing.post(f"{remote}/exchange/subscriptions", headers=auth, json={
        "entry_code": code, "purpose": "data_verification", "delivery": "kafka",
        "from_beginning": True})
    assert subscribed.status_code == 201, subscribed.text
    delivered = await _read_topic(network["nodes"]["320100"],
                                  subscribed.json()["topic"], expected=5)
    assert {change["record"]["GMSFHM"] for change in delivered} == {
        row["GMSFHM"] for row in rows}  # on Nanjing's own broker, through both gateways


async def _read_topic(node: Node, topic: str, expected: int) -> list[dict[str, Any]]:
    assert node.broker is not None
    reader = AIOKafkaConsumer(topic, bootstrap_servers=node.broker.bootstrap_servers,
                              auto_offset_reset="earliest", group_id=None,
                              metadata_max_age_ms=500)
    await reader.start()
    seen: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(30):
            while len(seen) < expected:
                batch = await reader.getmany(timeout_ms=500)
                seen += [json.loads(record.value) for records in batch.values()
                         for record in records]
    finally:
        await reader.stop()
    return seen


async def _both_ends_audited(network: dict[str, Any], consumer: dict[str, str],
                             code: str) -> None:
    for region, node_of_record in (("320000", "320000-internal"), ("320100", "320000-internal")):
        node: Node = network["nodes"][region]
        async with asyncio.timeout(15):
            while True:
                listed = await network["clients"][region].get(
                    "/api/exchange/audit", params={"entry_code": code},
                    headers=bearer(node.admin_token))
                kinds = {(item["kind"], item["consumer"], item["node"])
                         for item in listed.json()["items"] if item["denied"] is None}
                if {("query", consumer["credit_code"], node_of_record),
                        ("download", consumer["credit_code"], node_of_record)} <= kinds:
                    break
                await asyncio.sleep(0.2)


async def _one_trace_through_both_gateways(nanjing: httpx.AsyncClient, path: str,
                                           auth: dict[str, str], key: str,
                                           traces: TraceCollector) -> None:
    """A relayed call is one trace: Nanjing's gateway → Jiangsu's gateway → its exchange."""
    request_id = f"relayed-{uuid.uuid4().hex}"
    queried = await nanjing.get(path, params={"key": key, "purpose": "data_verification"},
                                headers={**auth, "X-Request-ID": request_id})
    assert queried.status_code == 200

    def at(node: str, service: str, spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
        return [span for span in spans if span.node == node and span.service == service
                and span.kind == "server"]

    async with asyncio.timeout(30):
        while True:
            started = at("320100-internal", "govshare-gateway",
                         traces.find(**{"govshare.request_id": request_id}))
            spans = traces.trace(started[0].trace_id) if started else []
            # The relaying gateway's span ends after the exchange's, and is exported after it.
            if all(at("320000-internal", service, spans)
                   for service in ("govshare-exchange", "govshare-gateway")):
                break
            await asyncio.sleep(0.2)
    [out] = started
    [relayed] = at("320000-internal", "govshare-gateway", spans)
    [served] = at("320000-internal", "govshare-exchange", spans)
    assert out.name == "GET /nodes/{node}/api/exchange"
    assert relayed.name == "GET /federation/relay/exchange"
    assert served.name == "GET /entries/{front}/{number}/record"
    assert relayed.parent_span_id == out.span_id and served.parent_span_id == relayed.span_id


# --- E5: each node's audit chain anchored at its parent ---------------------------------------


@pytest.fixture(scope="module")
async def nanjing_accesses(network: dict[str, Any]) -> dict[str, Any]:
    """Queries on Nanjing by one of its departments of another's data: rows[0] looked up
    (while the grant arrived, then granted), rows[1] once granted and once for a purpose the
    grant does not allow, rows[2] never."""
    client, admin = network["clients"]["320100"], network["nodes"]["320100"].admin_token
    provider, consumer = await new_party(client, admin), await new_party(client, admin)
    shared = await shared_entry(client, provider, consumer)
    person = shared.rows[1]["GMSFHM"]
    assert (await query(client, consumer, shared.code, person)).status_code == 200
    denied = await query(client, consumer, shared.code, person, purpose="business_collaboration")
    assert denied.status_code == 403
    return {"provider": provider, "consumer": consumer, "shared": shared}


async def test_audit_heads_go_up_countersigned_and_a_chain_rewritten_in_sql_is_caught(
    network: dict[str, Any], nanjing_accesses: dict[str, Any]
) -> None:
    jiangsu: Node = network["nodes"]["320000"]
    nanjing: Node = network["nodes"]["320100"]
    client, admin = network["clients"]["320100"], nanjing.admin_token
    jiangsu.stop("exchange")  # the parent is down: sealing goes on, anchoring waits
    try:
        assert (await query(client, nanjing_accesses["consumer"],
                            nanjing_accesses["shared"].code,
                            nanjing_accesses["shared"].rows[0]["GMSFHM"])).status_code == 200
        waiting = await verified(client, admin, lambda r: r["unsealed"] == 0
                                 and r["anchored"]["pending"] > 0)
        assert waiting["valid"] is True and waiting["anchored"]["error"]
    finally:
        jiangsu.start("exchange")
    report = await verified(client, admin, lambda r: r["anchored"]["pending"] == 0
                            and r["anchored"]["error"] is None and r["unsealed"] == 0)
    assert report["valid"] is True, report
    anchored = report["anchored"]
    assert (anchored["parent"], anchored["mismatches"]) == ("320000-internal", 0)
    assert anchored["last_anchored_position"] == report["sealed"] and anchored["checked"]

    child_db = create_engine(nanjing.database_url, schema="exchange")
    parent_db = create_engine(jiangsu.database_url, schema="exchange")
    keys = KeySet(jwks_from_url(f"{jiangsu.gateway_url}/.well-known/jwks.json"))
    try:
        async with child_db.connect() as connection:
            checkpoints = (await connection.execute(text(
                "SELECT position, hash, anchored_by, countersignature FROM audit_checkpoint "
                "ORDER BY position"))).all()
        async with parent_db.connect() as connection:
            held = dict((await connection.execute(text(
                "SELECT position, hash FROM anchored_head WHERE node = '320100-internal'")))
                .all())
        assert held == {row.position: row.hash for row in checkpoints}
        for row in checkpoints:  # each countersigned by Jiangsu's node key
            assert row.anchored_by == "320000-internal"
            said = await verify_statement(row.countersignature, keys, AUDIT_ANCHOR_TYPE)
            assert (said["iss"], said["node"], said["position"], said["hash"]) == (
                "320000-internal", "320100-internal", row.position, row.hash)

        async with child_db.connect() as connection:
            first_query = await connection.scalar(text(
                "SELECT min(id) FROM audit_entry WHERE position IS NOT NULL "
                "AND record_count = 1"))
        rewrite = await rewrite_chain(child_db, first_query)
        try:
            caught = (await client.get(VERIFICATION, headers=bearer(admin))).json()
            assert caught["valid"] is False
            assert caught["broken_entry_id"] is None  # in itself the chain fits together
            assert caught["anchored"]["mismatches"] >= 1
            assert "320000-internal" in caught["reason"] and "rewritten" in caught["reason"]
        finally:
            await restore(child_db, rewrite)
        assert (await client.get(VERIFICATION, headers=bearer(admin))).json()["valid"] is True
    finally:
        await child_db.dispose()
        await parent_db.dispose()


async def test_the_parent_refuses_another_hash_for_a_position_it_holds_and_keeps_it(
    network: dict[str, Any], nanjing_accesses: dict[str, Any]
) -> None:
    jiangsu: Node = network["nodes"]["320000"]
    nanjing: Node = network["nodes"]["320100"]
    await verified(network["clients"]["320100"], nanjing.admin_token,
                   lambda r: r["anchored"]["checked"] > 0)
    anchors = f"{jiangsu.gateway_url}/federation/exchange/audit-anchors"
    as_nanjing = bearer(await node_token(nanjing.url("authorization"), jiangsu.node_id))
    async with httpx.AsyncClient(timeout=30) as client:
        held = (await client.get(anchors, headers=as_nanjing)).json()["heads"][0]
        head = {key: held[key] for key in ("position", "hash", "sealed_at")}
        rewritten = {**head, "hash": f"{int(held['hash'], 16) ^ 1:064x}"}
        refused = await client.post(anchors, json={"heads": [rewritten]}, headers=as_nanjing)
        again = await client.post(anchors, json={"heads": [head]}, headers=as_nanjing)
        as_parent = bearer(await node_token(network["nodes"]["100000"].url("authorization"),
                                            jiangsu.node_id))
        not_a_child = await client.post(anchors, json={"heads": [head]}, headers=as_parent)
        no_node = await client.post(anchors, json={"heads": [head]},
                                    headers=bearer(jiangsu.admin_token))
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/audit-head-rewritten")
    assert refused.json()["position"] == head["position"]
    assert again.status_code == 200  # the held head, answered again as countersigned
    assert again.json()["heads"][0]["countersignature"] == held["countersignature"]
    assert (not_a_child.status_code, no_node.status_code) == (401, 401)

    conflicts = await network["clients"]["320000"].get(
        "/api/exchange/audit/anchor-conflicts", headers=bearer(jiangsu.admin_token))
    assert conflicts.status_code == 200, conflicts.text
    [conflict] = [item for item in conflicts.json()["items"]
                  if item["node"] == nanjing.node_id and item["position"] == head["position"]]
    assert (conflict["held_hash"], conflict["offered_hash"]) == (head["hash"],
                                                                 rewritten["hash"])


async def test_a_provider_finds_who_looked_up_a_person_whose_key_the_log_does_not_hold(
    network: dict[str, Any], nanjing_accesses: dict[str, Any]
) -> None:
    client = network["clients"]["320100"]
    provider, consumer = nanjing_accesses["provider"], nanjing_accesses["consumer"]
    shared = nanjing_accesses["shared"]
    searches = "/api/exchange/audit/subject-searches"

    async def looked_up(row: int, **where: str) -> list[dict[str, Any]]:
        found = await client.post(searches, headers=bearer(provider["token"]), json={
            "key": [shared.rows[row]["GMSFHM"]], **where})
        assert found.status_code == 200, found.text
        return list(found.json()["items"])

    person = await looked_up(1)
    assert {(e["consumer"], e["kind"], e["denied"], e["record_count"]) for e in person} == {
        (consumer["credit_code"], "query", None, 1),
        (consumer["credit_code"], "query", "purpose_not_granted", 0)}
    # The same entries (by id: the sealer may give them their chain positions in between).
    assert [e["id"] for e in await looked_up(1, entry_code=shared.code)] == [
        e["id"] for e in person]
    assert await looked_up(2) == []  # never looked up
    assert len({entry["subject_key"] for entry in person}) == 1

    engine = create_engine(network["nodes"]["320100"].database_url, schema="exchange")
    try:
        async with engine.connect() as connection:
            plain = await connection.scalar(text(
                "SELECT count(*) FROM audit_entry entry WHERE entry::text LIKE :key"),
                {"key": f"%{shared.rows[1]['GMSFHM']}%"})
    finally:
        await engine.dispose()
    assert plain == 0
    bad = await client.post(searches, headers=bearer(provider["token"]), json={
        "key": ["not an ID number"], "entry_code": shared.code})
    assert bad.status_code == 422


# --- F6: catalogs flow down as well, so every node searches the network in its own database --


async def test_every_node_searches_the_networks_catalog_it_may_see_in_its_own_database(
    network: dict[str, Any]
) -> None:
    tag = uuid.uuid4().hex[:6]
    national_name, suzhou_name = f"全国企业登记基础信息{tag}", f"苏州市工业园区企业信息{tag}"
    secret, after = f"南京市保密要害部位信息{tag}", f"南京市公共停车场信息{tag}"
    national = await publish(network, "100000", entry_named(national_name))
    await publish(network, "320500", entry_named(suzhou_name))
    classified = await publish(network, "320100", entry_named(secret, classified=True))
    await publish(network, "320100", entry_named(after))

    down = await found_at(network, "320100", national_name)
    across = await found_at(network, "320100", suzhou_name)
    assert down and across
    assert (down["node"], down["aggregated_via"]) == (
        "100000-external", ["100000-external", "320000-internal"])
    assert (across["node"], across["aggregated_via"]) == (
        "320500-external", ["320500-external", "320000-internal"])
    faceted = await network["clients"]["320100"].get("/api/catalog/search", params={
        "q": national_name, "scope": "all", "tier": "national"},
        headers=bearer(network["nodes"]["320100"].admin_token))
    assert [item["name"] for item in faceted.json()["items"]] == [national_name]
    assert faceted.json()["facets"]["tier"] == {"national": 1}
    assert await found_at(network, "320500", national_name)

    # F3: Suzhou, external, gets Nanjing's public entry by Jiangsu but never the secret one.
    assert await found_at(network, "320500", after)
    assert await absent_at(network, "320500", secret)
    assert await receipts_naming(network["nodes"]["320500"], classified["code"], secret) == 0

    withdrawn = await network["clients"]["100000"].post(
        f"/api/catalog/entries/{national['code']}/withdraw", json={"reason": "已整合"},
        headers=bearer(network["editors"]["100000"]["token"]))
    assert withdrawn.status_code == 200, withdrawn.text
    for region in ("320000", "320100", "320500"):
        async with asyncio.timeout(30):
            while True:
                if await absent_at(network, region, national_name):
                    break
                await asyncio.sleep(0.2)


async def receipts_naming(node: Node, code: str, name: str) -> int:
    """How many batches that reached the node carried the entry, by its code or name."""
    engine = create_engine(node.database_url, schema="catalog")
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(text(
                "SELECT count(*) FROM federation_receipt WHERE payload::text LIKE :code "
                "OR payload::text LIKE :name"), {"code": f"%{code}%", "name": f"%{name}%"}))
    finally:
        await engine.dispose()


async def test_a_child_that_was_down_gets_what_came_down_meanwhile_once(
    network: dict[str, Any]
) -> None:
    nanjing: Node = network["nodes"]["320100"]
    jiangsu: Node = network["nodes"]["320000"]
    names = [f"全国统一社会信用代码信息{uuid.uuid4().hex[:6]}" for _ in range(3)]
    nanjing.stop("catalog")
    try:
        for name in names:
            await publish(network, "100000", entry_named(name))
        async with asyncio.timeout(30):
            while True:  # Jiangsu got them, and its pushes down to Nanjing fail meanwhile
                status = await network["clients"]["320000"].get(
                    "/api/catalog/federation/status", headers=bearer(jiangsu.admin_token))
                child = next(peer for peer in status.json()["peers"]
                             if peer["node_id"] == nanjing.node_id)
                if child["relation"] == "child" and child["last_error"]:
                    break
                await asyncio.sleep(0.2)
    finally:
        nanjing.start("catalog")
    for name in names:
        assert await found_at(network, "320100", name)
    engine = create_engine(nanjing.database_url, schema="catalog")
    try:
        async with engine.connect() as connection:
            held = (await connection.execute(text(
                "SELECT received_from, count(*) FROM federated_entry WHERE name = ANY(:names) "
                "GROUP BY code, received_from"), {"names": names})).all()
    finally:
        await engine.dispose()
    assert sorted(held) == [("320000-internal", 1)] * 3  # each applied once, from its parent


# --- F5: any department reaches any node, relayed along the tree --------------------------


async def network_known_at(network: dict[str, Any], region: str,
                           expected: set[str]) -> dict[str, dict[str, Any]]:
    """The network as the node of `region` knows it, once it knows every node of
    `expected`: node id → how it is reached."""
    node: Node = network["nodes"][region]
    async with asyncio.timeout(30):
        while True:
            listed = await network["clients"][region].get(
                "/api/authorization/federation/network", headers=bearer(node.admin_token))
            assert listed.status_code == 200, listed.text
            known = {item["node_id"]: item for item in listed.json()["items"]}
            if expected <= set(known):
                return known
            await asyncio.sleep(0.2)


EVERY_NODE = {"100000-external", "320000-internal", "320100-internal", "320500-external"}


async def test_every_node_learns_the_tree_along_its_links(network: dict[str, Any]) -> None:
    at_nanjing = await network_known_at(network, "320100", EVERY_NODE)
    assert {node: (at_nanjing[node]["relation"], at_nanjing[node]["via"])
            for node in EVERY_NODE} == {
        "320100-internal": ("self", None), "320000-internal": ("parent", "320000-internal"),
        "100000-external": ("beyond", "320000-internal"),
        "320500-external": ("beyond", "320000-internal")}
    at_national = await network_known_at(network, "100000", EVERY_NODE)
    assert {at_national[node]["via"] for node in ("320100-internal", "320500-external")} == {
        "320000-internal"}
    unknown = await network["clients"]["320100"].get(
        "/nodes/440300-external/api/catalog/search", params={"q": "人口"},
        headers=bearer(network["editors"]["320100"]["token"]))
    assert (unknown.status_code, unknown.json()["reason"]) == (404, "node_unknown")


async def shared_from(network: dict[str, Any], region: str, *,
                      conditional: bool) -> dict[str, Any]:
    """An entry of the node of `region` loaded with people and granted to a new Nanjing
    department that asked for it through its own gateway; a conditional one is approved by
    the provider on its own node, on its own clock."""
    provider_node: Node = network["nodes"][region]
    provider_client, nanjing = network["clients"][region], network["clients"]["320100"]
    roles = ("catalog_editor", "request_reviewer", "data_operator")
    provider = await register_department(
        provider_client, provider_node.admin_token, *roles, tier=provider_node.tier,
        region="110000" if region == "100000" else region)
    consumer = await register_department(nanjing, network["nodes"]["320100"].admin_token,
                                         *roles)
    body = person_entry(type="conditional", conditions="仅限核验参保人员身份",
                        permitted_uses=["data_verification"]) if conditional else person_entry()
    code = await publish_at(provider_client, provider, body)
    rows = people(4)
    loaded = await upload(provider_client, provider, code, as_csv(rows))
    assert loaded.status_code == 200, loaded.text
    remote = f"/nodes/{provider_node.node_id}/api"
    auth = bearer(consumer["token"])
    filed = await nanjing.post(f"{remote}/authorization/requests", headers=auth,
                               json=application(code, items=["GMSFHM", "XM"], methods=[
                                   "online_query", "bulk_download", "system_integration"]))
    assert filed.status_code == 201, filed.text
    assert filed.json()["node"] == provider_node.node_id  # the provider's workflow and clock
    if conditional:
        answered = await provider_client.post(
            f"/api/authorization/requests/{filed.json()['id']}/answer",
            json={"approve": True}, headers=bearer(provider["token"]))
        assert answered.status_code == 200, answered.text
    async with asyncio.timeout(30):
        while True:  # until the provider's exchange has the grant event
            queried = await nanjing.get(f"{remote}/exchange/entries/{code}/record", params={
                "key": rows[0]["GMSFHM"], "purpose": "data_verification"}, headers=auth)
            if queried.status_code == 200:
                break
            await asyncio.sleep(0.2)
    assert queried.json()["record"] == {"GMSFHM": rows[0]["GMSFHM"], "XM": rows[0]["XM"]}
    return {"code": code, "rows": rows, "consumer": consumer, "provider": provider,
            "remote": remote, "auth": auth}


async def audited_at(network: dict[str, Any], region: str, code: str, consumer: str,
                     kinds: set[str]) -> list[dict[str, Any]]:
    """The node's granted audit entries of the consumer's accesses to the entry, once they
    include each of `kinds` (entry codes are each node's own: another node's entry may bear
    the same)."""
    node: Node = network["nodes"][region]
    async with asyncio.timeout(15):
        while True:
            listed = await network["clients"][region].get(
                "/api/exchange/audit", params={"entry_code": code},
                headers=bearer(node.admin_token))
            items = [item for item in listed.json()["items"]
                     if item["denied"] is None and item["consumer"] == consumer]
            if kinds <= {item["kind"] for item in items}:
                return items
            await asyncio.sleep(0.2)


async def test_a_nanjing_department_uses_national_data_through_jiangsu_and_the_path_is_audited(
    network: dict[str, Any], receiver: Receiver  # noqa: F811 (the fixture)
) -> None:
    await network_known_at(network, "320100", EVERY_NODE)
    shared = await shared_from(network, "100000", conditional=True)
    nanjing, remote, auth = network["clients"]["320100"], shared["remote"], shared["auth"]
    downloaded = await nanjing.get(f"{remote}/exchange/entries/{shared['code']}/records",
                                   params={"purpose": "data_verification", "format": "csv"},
                                   headers=auth)
    assert downloaded.status_code == 200 and downloaded.headers["x-record-count"] == "4"

    consumer = shared["consumer"]["credit_code"]
    at_provider = await audited_at(network, "100000", shared["code"], consumer,
                                   {"query", "download"})
    assert {(item["kind"], item["consumer"], tuple(item["route"])) for item in at_provider} == {
        (kind, consumer, ("320100-internal", "320000-internal"))
        for kind in ("query", "download")}
    assert all(item["actor"].startswith("320100-internal/") for item in at_provider)
    at_consumer = await audited_at(network, "320100", shared["code"], consumer,
                                   {"query", "download"})
    assert {item["node"] for item in at_consumer} == {"100000-external"}

    subscribed = await nanjing.post(f"{remote}/exchange/subscriptions", headers=auth, json={
        "entry_code": shared["code"], "purpose": "data_verification", "delivery": "kafka",
        "from_beginning": True})
    assert subscribed.status_code == 201, subscribed.text
    delivered = await _read_topic(network["nodes"]["320100"], subscribed.json()["topic"],
                                  expected=4)
    assert {change["record"]["GMSFHM"] for change in delivered} == {
        row["GMSFHM"] for row in shared["rows"]}  # on Nanjing's broker, through three gateways

    hooked = await nanjing.post(f"{remote}/exchange/subscriptions", headers=auth, json={
        "entry_code": shared["code"], "purpose": "data_verification", "delivery": "webhook",
        "from_beginning": True, "webhook_url": f"http://127.0.0.1:{receiver.port}/hook"})
    assert hooked.status_code == 201, hooked.text
    receiver.secret = hooked.json()["secret"]  # the receiver checks each signature with it
    async with asyncio.timeout(30):
        while len(receiver.applied) < 4:  # noqa: ASYNC110 (another task's server fills it)
            await asyncio.sleep(0.2)
    assert {change["record"]["GMSFHM"] for change in receiver.applied.values()} == {
        row["GMSFHM"] for row in shared["rows"]}


async def test_a_nanjing_department_queries_its_sibling_suzhou_through_jiangsu(
    network: dict[str, Any]
) -> None:
    await network_known_at(network, "320100", EVERY_NODE)
    shared = await shared_from(network, "320500", conditional=False)
    [entry] = await audited_at(network, "320500", shared["code"],
                               shared["consumer"]["credit_code"], {"query"})
    assert entry["route"] == ["320100-internal", "320000-internal"]
    assert entry["actor"].startswith("320100-internal/")


async def test_a_call_from_the_external_zone_is_refused_at_the_internal_middle_hop(
    network: dict[str, Any]
) -> None:
    await network_known_at(network, "100000", EVERY_NODE)
    await network_known_at(network, "320500", EVERY_NODE)
    for region in ("100000", "320500"):  # the national node, and Nanjing's sibling Suzhou
        refused = await network["clients"][region].get(
            "/nodes/320100-internal/api/catalog/search", params={"q": "人口"},
            headers=bearer(network["editors"][region]["token"]))
        assert refused.status_code == 403, refused.text
        assert (refused.json()["reason"], refused.json()["node"]) == (
            "zone_boundary", "320000-internal")


async def test_a_node_down_on_the_way_is_named_in_the_answer(network: dict[str, Any]) -> None:
    await network_known_at(network, "320100", EVERY_NODE)
    nanjing, editor = network["clients"]["320100"], network["editors"]["320100"]

    async def search_national() -> httpx.Response:
        return await nanjing.get("/nodes/100000-external/api/catalog/search",
                                 params={"q": "人口"}, headers=bearer(editor["token"]))

    assert (await search_national()).status_code == 200
    for region, down in (("320000", "320000-internal"), ("100000", "100000-external")):
        node: Node = network["nodes"][region]
        node.stop("gateway")
        try:
            answer = await search_national()
        finally:
            node.start("gateway")
        assert answer.status_code == 502, answer.text
        assert answer.json()["type"].endswith("/node-unreachable")
        assert (answer.json()["node"], answer.json()["destination"]) == (
            down, "100000-external")
    assert (await search_national()).status_code == 200


# --- F7: reports go up ------------------------------------------------------------------------


async def test_a_report_submitted_late_is_kept_flagged_late_and_rolled_up_at_the_parent(
    network: dict[str, Any]
) -> None:
    nanjing_node: Node = network["nodes"]["320100"]
    jiangsu_node: Node = network["nodes"]["320000"]
    nanjing, jiangsu = network["clients"]["320100"], network["clients"]["320000"]
    submissions = "/api/evaluation/report-submissions"
    as_nanjing, as_jiangsu = bearer(nanjing_node.admin_token), bearer(jiangsu_node.admin_token)

    late = await nanjing.post(submissions, json={"period": "2025"}, headers=as_nanjing)
    assert late.status_code == 201, late.text  # 2025's report was due by 31 January 2026
    receipt = late.json()
    assert (receipt["child"], receipt["kind"], receipt["due_on"], receipt["on_time"]) == (
        "320100-internal", "yearly", "2026-01-31", False)
    quarter = await nanjing.post(submissions, json={"period": "2026-Q1"}, headers=as_nanjing)
    assert quarter.status_code == 201, quarter.text
    assert (quarter.json()["kind"], quarter.json()["on_time"]) == ("quarterly", None)

    held = await jiangsu.get(submissions, params={"child": "320100-internal"},
                             headers=as_jiangsu)
    assert held.status_code == 200, held.text
    assert {(item["period"], item["on_time"]) for item in held.json()["items"]} >= {
        ("2025", False), ("2026-Q1", None)}
    keys = KeySet(jwks_from_url(f"{nanjing_node.gateway_url}/.well-known/jwks.json"))
    signed = await verify_statement(receipt["signature"], keys, SUBMISSION_TYPE)
    assert (signed["iss"], signed["period"]) == ("320100-internal", "2025")
    file = await jiangsu.get(f"{submissions}/{receipt['id']}/file", headers=as_jiangsu)
    assert file.status_code == 200 and file.headers["content-type"] == "application/pdf"
    assert (await report_signature.verify(file.content, keys))["iss"] == "320100-internal"

    rolled = await jiangsu.get(f"{submissions}/rollup", params={"period": "2026-Q1"},
                               headers=as_jiangsu)
    assert rolled.status_code == 200, rolled.text
    rollup = rolled.json()
    assert [child["node"] for child in rollup["children"]] == ["320100-internal"]
    assert rollup["missing"] == ["320500-external"]
    assert rollup["total"]["departments"] == (rollup["own"]["departments"]
                                              + quarter.json()["figures"]["departments"])

    async with httpx.AsyncClient(timeout=30) as client:  # figures changed on the way
        token = (await client.post(f"{nanjing_node.url('authorization')}/internal/node-tokens",
                                   json={"audience": jiangsu_node.node_id})).json()
        stated = unverified_claims(quarter.json()["signature"])  # as the child signed it
        forged = {"statement": {key: value for key, value in stated.items() if key != "iss"},
                  "signature": quarter.json()["signature"],
                  "figures": {**quarter.json()["figures"], "accesses": 10**6}}
        refused = await client.post(
            f"{jiangsu_node.gateway_url}/federation/evaluation/report-submissions",
            json=forged, headers=bearer(token["access_token"]))
    assert (refused.status_code, refused.json()["reason"]) == (422, "figures_mismatch")
