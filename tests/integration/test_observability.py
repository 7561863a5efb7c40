"""Issue 8's observability, seen as an operator sees it: Prometheus text at each process's
/metrics, one trace per call from the gateway through the services and across Kafka (in a
real OTLP collector), and JSON logs that name the request and the trace."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.collector import ReceivedSpan, TraceCollector
from tests.conftest import Infrastructure, RunningNode
from tests.integration.conftest import (
    ENTRIES,
    REQUESTS,
    Party,
    application,
    bearer,
    conditional_entry,
    eventually,
    publish,
    submit,
)
from tests.integration.test_exchange import query, shared_entry

SERVICES = ("authorization", "catalog", "exchange", "evaluation")
LATENCY = "govshare_http_request_duration_seconds_count"
# A topic each service consumes (so holds partitions of).
CONSUMES = {"authorization": "govshare.catalog.entry", "catalog": "govshare.identity.department",
            "exchange": "govshare.share.grant", "evaluation": "govshare.exchange.audit"}
T = TypeVar("T")


class Scrape:
    """One reading of a process's /metrics."""

    def __init__(self, exposition: str) -> None:
        self.samples = [sample for family in text_string_to_metric_families(exposition)
                        for sample in family.samples]

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 for a labelled series that has not appeared yet."""
        return sum(sample.value for sample in self.samples if sample.name == name
                   and all(sample.labels.get(k) == v for k, v in labels.items()))

    def series(self, name: str) -> list[dict[str, str]]:
        return [sample.labels for sample in self.samples if sample.name == name]


async def scrape(url: str) -> Scrape:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


async def until(probe: Callable[[], Awaitable[T]], holds: Callable[[T], bool],
                seconds: float = 30) -> T:
    """Poll `probe` until its value satisfies `holds`; the last value, or a timeout."""
    async with asyncio.timeout(seconds):
        # The figure changes in another process: there is nothing to await but its next value.
        while not holds(value := await probe()):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    return value


# --- metrics -------------------------------------------------------------------------------


async def test_every_process_reports_requests_outbox_and_consumer_lag(
    gateway: httpx.AsyncClient, node: RunningNode, provider: Party
) -> None:
    urls = {"gateway": node.gateway_url, **node.service_urls}
    before = {name: await scrape(url) for name, url in urls.items()}
    listed = await gateway.get(ENTRIES, headers=bearer(provider["token"]))
    assert listed.status_code == 200
    unknown = await gateway.get("/api/nosuch/anything", headers=bearer(provider["token"]))
    assert unknown.status_code == 404
    after = {name: await scrape(url) for name, url in urls.items()}

    def more(name: str, **labels: str) -> float:
        return after[name].value(LATENCY, **labels) - before[name].value(LATENCY, **labels)

    # The gateway names a call by the service it is for; a made-up service cannot add labels.
    assert more("gateway", method="GET", route="/api/catalog", status="200") == 1
    assert more("gateway", method="GET", route="/api/{unknown}", status="404") == 1
    # The service names it by its route template, not by the path with its values.
    assert more("catalog", method="GET", route="/entries", status="200") == 1
    for service in SERVICES:
        assert after[service].series("govshare_outbox_backlog_events"), service
        assert after[service].series("govshare_http_requests_in_flight"), service
    # The catalog learnt of the provider from the identity service's event.
    assert after["catalog"].value("govshare_consumer_events_total", outcome="applied",
                                  type="identity.department.registered.v1") > 0

    # Once the node is idle every consumer has caught up with every partition it holds.
    for service in SERVICES:
        caught_up = await until(lambda url=node.service_urls[service]: scrape(url), lambda s: (
            bool(s.series("govshare_consumer_lag_events"))
            and s.value("govshare_consumer_lag_events") == 0
            and s.value("govshare_outbox_backlog_events") == 0))
        topics = {labels["topic"] for labels in caught_up.series("govshare_consumer_lag_events")}
        assert CONSUMES[service] in topics, (service, topics)

    # The services' metrics are for the scraper inside the node, not for callers.
    hidden = await gateway.get("/api/catalog/metrics", headers=bearer(provider["token"]))
    assert hidden.status_code == 404


async def test_the_services_report_overdue_requests_active_grants_and_audit_appends(
    gateway: httpx.AsyncClient, node: RunningNode, provider: Party, consumer: Party,
    authorization_db: AsyncEngine
) -> None:
    authorization, exchange = node.service_urls["authorization"], node.service_urls["exchange"]
    before = await scrape(authorization)

    shared = await shared_entry(gateway, provider, consumer)  # an unconditional grant
    code = await publish(gateway, provider, conditional_entry())
    request_id = (await submit(gateway, consumer, application(code))).json()["id"]
    async with authorization_db.begin() as connection:  # ten working days pass, unanswered
        await connection.execute(text(
            "UPDATE share_request SET due_on = current_date - 1 WHERE id = :id"),
            {"id": request_id})
    await eventually(gateway, provider, f"{REQUESTS}/{request_id}", "status", "overdue")

    after = await scrape(authorization)
    for status, grown in (("overdue", 1), ("approved", 1)):
        assert (after.value("govshare_share_requests", status=status)
                - before.value("govshare_share_requests", status=status)) == grown, status
    assert (after.value("govshare_grants", status="active")
            - before.value("govshare_grants", status="active")) == 1

    audited = await scrape(exchange)
    for person in shared.rows[:3]:
        found = await query(gateway, consumer, shared.code, person["GMSFHM"])
        assert found.status_code == 200
    denied = await query(gateway, consumer, shared.code, shared.rows[0]["GMSFHM"],
                         purpose="business_collaboration")
    assert denied.status_code == 403
    later = await scrape(exchange)
    assert (later.value("govshare_audit_appends_total", kind="query")
            - audited.value("govshare_audit_appends_total", kind="query")) == 4
    # The query answered ahead of the framework is measured under its documented route.
    route = "/entries/{front}/{number}/record"
    assert (later.value(LATENCY, route=route, status="200")
            - audited.value(LATENCY, route=route, status="200")) == 3
    assert (later.value(LATENCY, route=route, status="403")
            - audited.value(LATENCY, route=route, status="403")) == 1
    await until(lambda: scrape(exchange),
                lambda s: s.value("govshare_audit_unsealed_entries") == 0)


# --- traces and logs -----------------------------------------------------------------------


async def test_one_trace_follows_a_publication_from_the_gateway_across_kafka_to_each_consumer(
    gateway: httpx.AsyncClient, provider: Party, traces: TraceCollector,
    infrastructure: Infrastructure
) -> None:
    created = await gateway.post(ENTRIES, json=conditional_entry(),
                                 headers=bearer(provider["token"]))
    code = created.json()["code"]
    request_id = f"publish-{uuid.uuid4().hex}"
    published = await gateway.post(f"{ENTRIES}/{code}/publish", headers={
        **bearer(provider["token"]), "X-Request-ID": request_id})
    assert published.status_code == 200

    def spans_of_the_call() -> list[ReceivedSpan]:
        entry = [span for span in traces.find(**{"govshare.request_id": request_id})
                 if span.service == "govshare-gateway"]
        return traces.trace(entry[0].trace_id) if entry else []

    async def collected() -> list[ReceivedSpan]:
        return spans_of_the_call()

    def consumers_in(spans: list[ReceivedSpan]) -> set[str]:
        return {span.service for span in spans if span.kind == "consumer"}

    consumers = {"govshare-authorization", "govshare-exchange", "govshare-evaluation",
                 "govshare-portal"}
    spans = await until(collected, lambda spans: consumers <= consumers_in(spans))

    [entry] = [span for span in spans if span.service == "govshare-gateway"]
    assert (entry.kind, entry.name) == ("server", "POST /api/catalog")
    servers = [span for span in spans if span.service == "govshare-catalog"
               and span.kind == "server"]
    assert len(servers) == 1, "\n".join(map(str, spans))
    [served] = servers
    assert served.parent_span_id == entry.span_id
    assert served.name == "POST /entries/{front}/{number}/publish"
    [sent] = [span for span in spans if span.kind == "producer"
              and span.attributes["govshare.event.type"] == "catalog.entry.published.v1"]
    assert (sent.service, sent.parent_span_id) == ("govshare-catalog", served.span_id)
    assert sent.name == "publish govshare.catalog.entry"
    applied = [span for span in spans if span.kind == "consumer"
               and span.attributes["govshare.event.type"] == "catalog.entry.published.v1"]
    assert {span.service for span in applied} == consumers
    assert all(span.parent_span_id == sent.span_id for span in applied)

    # The catalog's access log line names the request and the trace.
    lines = [json.loads(line) for line in _log(infrastructure.workdir, "catalog")
             if request_id in line]
    access = [line for line in lines if line["logger"] == "govshare.access"]
    assert access and access[0]["trace_id"] == entry.trace_id
    assert access[0]["request_id"] == request_id


def _log(workdir: Path, process: str) -> list[str]:
    return (workdir / f"{process}.log").read_text(encoding="utf-8").splitlines()
