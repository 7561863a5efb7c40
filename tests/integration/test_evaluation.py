"""The evaluation (requirements §6) against a running node.

`test_a_scripted_year…` writes a year of history onto the real broker, as the other
services would have written it over 2025 (departments that answer on time, late and never;
a stale entry; an unsettled objection; a duplicate collection; a zombie system), then checks
the exact indicators, scores, ranking, rectification list, funding list and report, replays
the history and gets the same report. Real departments and clients are registered first, so
systems are filed through the API as a department's staff would. The other tests drive the
live path: the exchange's sealed audit feeding use, and the API's refusals.
"""

from __future__ import annotations

import asyncio
import html as markup
import io
import json
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from jose import jwt
from pypdf import PdfReader
from sqlalchemy import insert, text

from services.evaluation.method import POINT_TEXT
from services.evaluation.report import SECTIONS
from shared.consumer import IdempotentConsumer
from shared.contracts import DepartmentRegistered
from shared.contracts.catalog import (
    ClearedBecause,
    DatabaseRegistryChanged,
    DuplicateCollectionCleared,
    DuplicateCollectionFlagged,
    EntryPublished,
    EntrySnapshot,
    EntryStatus,
    EntryWithdrawn,
    ProjectCatalogChanged,
    ShareAttributes,
    TriggerRecorded,
    TriggerResolved,
)
from shared.contracts.exchange import (
    AuditSealed,
    CrossCheckCompleted,
    EntryStale,
    ObjectionRaised,
    ObjectionResolved,
    ObjectionSnapshot,
    RecordsLoaded,
    SourceApiRegistered,
    UsageCount,
)
from shared.contracts.sharing import (
    Answer,
    RequestAnswered,
    RequestOverdue,
    RequestSnapshot,
    RequestStatus,
    RequestSubmitted,
    RequestWithdrawn,
)
from shared.db import create_engine, create_session_factory
from shared.events import EventData, EventEnvelope, EventSource, topic_for
from shared.handlers import Handlers
from shared.kafka import BrokerProbe, create_producer
from shared.messaging_tables import processed_event
from shared.outbox import Outbox
from shared.workdays import CHINA_TIME
from tests import factories
from tests.conftest import Infrastructure, RunningNode
from tests.integration.conftest import (
    Party,
    bearer,
    find_event,
    new_party,
    publish,
    register_department,
)
from tests.integration.streaming import streaming_system
from tests.integration.test_cli import govshare
from tests.integration.test_exchange import (
    EXCHANGE,
    as_csv,
    people,
    person_entry,
    query,
    shared_entry,
    upload,
)

EVALUATION = "/api/evaluation"


def at(day: str, hour: int = 10) -> datetime:
    """A moment of a China Standard Time day."""
    return datetime.combine(date.fromisoformat(day), time(hour), CHINA_TIME)


class History:
    """Writes events onto the broker as the services would have, at the times they carry."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        self.probe = BrokerProbe(bootstrap, "test-history")
        self.sent: list[EventEnvelope] = []

    async def __aenter__(self) -> History:
        await self.producer.start()
        await self.probe.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()
        await self.probe.stop()

    async def send(self, event: EventData, *, key: str, when: datetime) -> EventEnvelope:
        envelope = EventEnvelope(type=event.event_type, key=key, time=when,
                                 source=EventSource(node="test-node", service="history"),
                                 data=event.model_dump(mode="json"))
        await self.resend(envelope)
        return envelope

    async def resend(self, envelope: EventEnvelope) -> None:
        await self.probe.end_offset(envelope.topic)  # the topic exists before the send
        await self.producer.send_and_wait(envelope.topic, envelope.model_dump_json().encode(),
                                          key=envelope.key.encode())
        self.sent.append(envelope)


def entry(code: str, provider: Party, published: str) -> EntrySnapshot:
    return EntrySnapshot(**factories.population_entry(), code=code,
                         provider=provider["credit_code"], provider_name=provider["name"],
                         status="published", version=1, node="test-node",
                         published_at=at(published))


def request(consumer: Party, provider: Party, code: str, *, submitted: str, due: str,
            version: int = 1, status: str = "submitted", answered: str | None = None,
            approved: bool = True, late: bool = False, reason: str | None = None,
            request_id: uuid.UUID | None = None) -> RequestSnapshot:
    return RequestSnapshot(
        id=request_id or uuid.uuid4(), node="test-node", consumer=consumer["credit_code"],
        provider=provider["credit_code"], entry_code=code, entry_name="人口基础信息",
        share_type="conditional", legal_basis="《社会保险法》第五十八条",
        purpose="data_verification", items=["GMSFHM"], methods=["online_query"],
        valid_until=date(2026, 12, 31), status=status, version=version, submitted_by="staff",
        submitted_at=at(submitted), due_on=date.fromisoformat(due), calendar_basis=["library"],
        answer=Answer(approved=approved, reason=reason, answered_by="reviewer",
                      answered_at=at(answered), late=late) if answered else None)


def objection(consumer: Party, provider: Party, code: str, *, raised: str,
              resolved: str | None = None, objection_id: uuid.UUID) -> ObjectionSnapshot:
    return ObjectionSnapshot(
        id=objection_id, entry_code=code, record_key=["320102199001011234"],
        consumer=consumer["credit_code"], provider=provider["credit_code"], kind="error",
        description="出生日期与户籍登记不一致", evidence=None,
        status="corrected" if resolved else "raised", raised_at=at(raised),
        verifying_at=None, resolved_at=at(resolved) if resolved else None,
        resolution="已更正" if resolved else None, correction=None,
        version=3 if resolved else 1)


def usage(consumer: Party, provider: Party, code: str, day: str, accesses: int, records: int,
          actor: str, *, kind: str = "query", purpose: str = "data_verification",
          denied: str | None = None) -> UsageCount:
    return UsageCount(consumer=consumer["credit_code"], provider=provider["credit_code"],
                      entry_code=code, kind=kind, purpose=purpose, denied=denied,
                      accesses=accesses, records=records, actor=actor,
                      day=date.fromisoformat(day))


async def write_2025(history: History, d: dict[str, Party], codes: dict[str, str],
                     system_client: str) -> None:
    """The year 2025 of five departments A–E, as the services would have announced it."""
    a, b, c, e = d["A"], d["B"], d["C"], d["E"]
    for party in d.values():
        await history.send(DepartmentRegistered(
            credit_code=party["credit_code"], name=party["name"], tier="municipal",
            region_code="320100"), key=party["credit_code"], when=at("2025-01-02"))
    for name, key, day in (("A", "a1", "2025-01-10"), ("B", "b1", "2025-01-10"),
                           ("C", "c1", "2025-01-11"), ("C", "c2", "2025-01-12"),
                           ("D", "d1", "2025-01-13")):
        await history.send(EntryPublished(entry=entry(codes[key], d[name], day),
                                          changed_by="editor"),
                           key=codes[key], when=at(day))
    # E1: every entry is loaded within days of its publication.
    for key, name, day in (("a1", "A", "2025-01-15"), ("b1", "B", "2025-01-15"),
                           ("c1", "C", "2025-01-16"), ("c2", "C", "2025-01-16"),
                           ("d1", "D", "2025-01-17")):
        await history.send(RecordsLoaded(entry_code=codes[key], provider=d[name]["credit_code"],
                                         accepted=100, rejected=0, loaded_at=at(day)),
                           key=codes[key], when=at(day))
    # C6: A updates its catalog in time (the resolution arrives before the recording); E
    # never does.
    t1, t2 = uuid.uuid4(), uuid.uuid4()
    await history.send(TriggerResolved(trigger_id=t1, department=a["credit_code"],
                                       resolved_on=date(2025, 5, 8), due_on=date(2025, 5, 12)),
                       key=str(t1), when=at("2025-05-08"))
    await history.send(TriggerRecorded(trigger_id=t1, department=a["credit_code"],
                                       kind="law_changed", occurred_on=date(2025, 4, 20),
                                       due_on=date(2025, 5, 12)),
                       key=str(t1), when=at("2025-04-20"))
    await history.send(TriggerRecorded(trigger_id=t2, department=e["credit_code"],
                                       kind="functions_changed", occurred_on=date(2025, 3, 1),
                                       due_on=date(2025, 3, 20)),
                       key=str(t2), when=at("2025-03-01"))
    await _requests(history, d, codes)
    # E7: C's c1 found stale twice (one entry), E6: one objection settled in 5 days, one never.
    for day in ("2025-08-01", "2025-09-01"):
        await history.send(EntryStale(entry_code=codes["c1"], provider=c["credit_code"],
                                      update_cycle="daily", last_update=at("2025-07-01"),
                                      detected_at=at(day)), key=codes["c1"], when=at(day))
    o1, o2 = uuid.uuid4(), uuid.uuid4()
    await history.send(ObjectionRaised(objection=objection(a, b, codes["b1"], raised="2025-06-10",
                                                           objection_id=o1), actor="x"),
                       key=str(o1), when=at("2025-06-10"))
    await history.send(ObjectionResolved(objection=objection(
        a, b, codes["b1"], raised="2025-06-10", resolved="2025-06-15", objection_id=o1),
        actor="y"), key=str(o1), when=at("2025-06-15"))
    await history.send(ObjectionRaised(objection=objection(b, c, codes["c1"], raised="2025-11-01",
                                                           objection_id=o2), actor="x"),
                       key=str(o2), when=at("2025-11-01"))
    # C7: D catalogues a name A is responsible for collecting. B does too, but obtains A's
    # data by sharing; C holds A's ID numbers only as the key of its records.
    for party, code, item, name, identifies in ((d["D"], "d1", "XM", "姓名", False),
                                                (b, "b1", "XM", "姓名", False),
                                                (c, "c1", "GMSFHM", "公民身份号码", True)):
        await history.send(DuplicateCollectionFlagged(
            entry_code=codes[code], provider=party["credit_code"], item_code=item,
            item_name=name, responsible_department=a["credit_code"],
            identifies_subject=identifies), key=codes[code], when=at("2025-03-15"))
    # E5 usage: A's system queries C; B queries A and downloads from D; D tries A for a
    # purpose it was not granted. The sealed batch arrives twice.
    sealed = await history.send(AuditSealed(
        first_position=1, last_position=55, head_hash="0" * 64, sealed_at=at("2025-07-01"),
        usage=[usage(a, c, codes["c1"], "2025-04-01", 30, 30, system_client),
               usage(b, a, codes["a1"], "2025-05-01", 20, 20, "b-user"),
               usage(b, d["D"], codes["d1"], "2025-06-01", 3, 300, "b-user", kind="download"),
               usage(d["D"], a, codes["a1"], "2025-07-01", 2, 0, "d-user",
                     purpose="work_reference", denied="purpose_not_granted")]),
        key="audit", when=at("2025-07-01"))
    await history.resend(sealed)


async def _requests(history: History, d: dict[str, Party], codes: dict[str, str]) -> None:
    a, b, c, dd, e = d["A"], d["B"], d["C"], d["D"], d["E"]
    # R1 B→A answered in time; its answer arrives before its submission (a late event).
    r1 = uuid.uuid4()
    await history.send(RequestAnswered(request=request(
        b, a, codes["a1"], submitted="2025-03-03", due="2025-03-17", version=2,
        status="approved", answered="2025-03-10", request_id=r1), actor="a"),
        key=str(r1), when=at("2025-03-10"))
    await history.send(RequestSubmitted(request=request(
        b, a, codes["a1"], submitted="2025-03-03", due="2025-03-17", request_id=r1),
        actor="b"), key=str(r1), when=at("2025-03-03"))
    # R2 A→B in time; R3 C→B late, its answer delivered twice.
    for submitted, due, answered, late, consumer in (
            ("2025-04-01", "2025-04-15", "2025-04-10", False, a),
            ("2025-05-06", "2025-05-20", "2025-05-28", True, c)):
        snapshot = request(consumer, b, codes["b1"], submitted=submitted, due=due, version=2,
                           status="approved", answered=answered, late=late)
        sent = await history.send(RequestAnswered(request=snapshot, actor="b"),
                                  key=str(snapshot.id), when=at(answered))
    await history.resend(sent)
    # R4 A→C overdue (the sweep's reminder), R5 B→C never answered, no reminder either.
    r4 = request(a, c, codes["c1"], submitted="2025-06-02", due="2025-06-16")
    await history.send(RequestSubmitted(request=r4, actor="a"), key=str(r4.id),
                       when=at("2025-06-02"))
    await history.send(RequestOverdue(request=r4.model_copy(update={
        "status": RequestStatus.overdue, "version": 2}), actor="platform"), key=str(r4.id),
        when=at("2025-06-17"))
    r5 = request(b, c, codes["c2"], submitted="2025-09-01", due="2025-09-15")
    await history.send(RequestSubmitted(request=r5, actor="b"), key=str(r5.id),
                       when=at("2025-09-01"))
    # R6 A→D refused in time with a reason; R7 D→A falls due in 2026; R8 C→E withdrawn early.
    r6 = request(a, dd, codes["d1"], submitted="2025-07-01", due="2025-07-15", version=2,
                 status="rejected", answered="2025-07-08", approved=False,
                 reason="涉及个人隐私，依法不予共享")
    await history.send(RequestAnswered(request=r6, actor="d"), key=str(r6.id),
                       when=at("2025-07-08"))
    r7 = request(dd, a, codes["a1"], submitted="2025-12-20", due="2026-01-08")
    await history.send(RequestSubmitted(request=r7, actor="d"), key=str(r7.id),
                       when=at("2025-12-20"))
    r8 = request(c, e, codes["a1"], submitted="2025-10-09", due="2025-10-23")
    await history.send(RequestSubmitted(request=r8, actor="c"), key=str(r8.id),
                       when=at("2025-10-09"))
    await history.send(RequestWithdrawn(request=r8.model_copy(update={
        "status": RequestStatus.withdrawn, "version": 2}), actor="c"), key=str(r8.id),
        when=at("2025-10-12"))


def entry_codes() -> dict[str, str]:
    front = f"399{random.randint(1000, 9999)}"
    return {key: f"{front}/{index:06d}" for index, key in
            enumerate(("a1", "b1", "c1", "c2", "d1"), 1)}


async def until(call: Any, check: Any, seconds: float = 60) -> Any:
    async with asyncio.timeout(seconds):
        while True:
            result = await call()
            if check(result):
                return result
            await asyncio.sleep(0.3)


EXPECTED_INDICATORS = {
    "A": dict(entries_published=1, triggers_due=1, triggers_met=1, requests_due=1,
              requests_answered_on_time=1, accesses_made=30, records_received=30,
              accesses_served=20, records_served=20, consumers_served=1),
    "B": dict(entries_published=1, requests_due=2, requests_answered_on_time=1,
              requests_answered_late=1, objections_raised=1, objections_settled_in_time=1,
              mean_days_to_settle=5.0, accesses_made=23, records_received=320,
              duplicate_collections=0,  # its flagged name came to it by sharing
              entries_without_data=0),
    "C": dict(entries_published=2, entries_stale=1, entries_without_data=0, requests_due=2,
              requests_unanswered=2,
              objections_raised=1, objections_open_overdue=1, accesses_served=30,
              records_served=30, consumers_served=1,
              duplicate_collections=0),  # an ID number as its records' key is no collection
    "D": dict(entries_published=1, requests_due=1, requests_answered_on_time=1,
              requests_refused=1, accesses_served=3, records_served=300, consumers_served=1,
              duplicate_collections=1, out_of_purpose_attempts=2, denied_attempts=2),
    "E": dict(entries_published=0, triggers_due=1, triggers_met=0, requests_due=0),
}
EXPECTED_RANKING = [("A", 100.0, 1), ("B", 87.5, 2), ("D", 80.0, 3), ("E", 60.0, 4),
                    ("C", 50.0, 5)]
EXPECTED_FINDINGS = {
    ("B", "responsiveness"): ["JS §25(三)"],
    ("C", "provision"): ["JS §25(二)", "51 §24(二)"],
    ("C", "quality"): ["JS §25(四)", "51 §24(三)"],
    ("C", "responsiveness"): ["JS §25(三)"],
    ("D", "collection"): ["JS §25(六)"],
    ("D", "purpose"): ["JS §25(五)", "51 §24(四)"],
    ("E", "catalog"): ["JS §25(一)", "51 §24(一)"],
    ("E", "provision"): ["JS §25(二)", "51 §24(二)"],
}


async def test_a_scripted_year_gives_the_exact_scores_ranking_and_rectification_list(
    gateway: httpx.AsyncClient, admin_token: str, infrastructure: Infrastructure
) -> None:
    admin = bearer(admin_token)
    default = (await gateway.get(f"{EVALUATION}/scoring-method/defaults/municipal",
                                 headers=admin)).json()
    assert (await gateway.put(f"{EVALUATION}/scoring-method", json=default,
                              headers=admin)).status_code == 200
    departments = {name: await register_department(gateway, admin_token, "catalog_editor")
                   for name in "ABCDE"}
    by_code = {party["credit_code"]: name for name, party in departments.items()}
    system_client = jwt.get_unverified_claims(departments["A"]["token"])["sub"]
    codes = entry_codes()
    async with History(infrastructure.bootstrap_servers) as history:
        await write_2025(history, departments, codes, system_client)

    # V3: A's system is used, D's is filed but hardly touched: a zombie.
    filings = {"A": {"name": "人口综合管理系统", "resource_codes": [codes["a1"]],
                     "client_ids": [system_client], "annual_om_funding": "800000.00"},
               "D": {"name": "健康档案前置系统", "resource_codes": [codes["d1"]],
                     "client_ids": [], "annual_om_funding": "350000.00"}}
    for name, filing in filings.items():
        body = {"description": "业务办理与数据共享", "funding_source": "local_budget",
                "construction_funding": "2400000.00", **filing}
        filed = await until(lambda b=body, n=name: gateway.post(
            f"{EVALUATION}/systems", json=b, headers=bearer(departments[n]["token"])),
            lambda response: response.status_code != 422)
        assert filed.status_code == 201, filed.text

    def complete(response: httpx.Response) -> bool:
        """Every fact applied: the scores alone can be whole before a fact that moves no
        score (E's trigger: it publishes nothing) has reached the evaluation."""
        body = response.json()
        scores = {by_code.get(item["department"]): item["score"] for item in body["ranking"]}
        counted = {by_code.get(item["department"]): item for item in body["indicators"]}
        return scores == {name: score for name, score, _ in EXPECTED_RANKING} and \
            len(body["systems"]) == 2 and all(
                {field: counted.get(name, {}).get(field) for field in expected} == expected
                for name, expected in EXPECTED_INDICATORS.items())

    report = (await until(lambda: gateway.get(f"{EVALUATION}/reports/2025", headers=admin),
                          complete)).json()

    indicators = {by_code[item["department"]]: item for item in report["indicators"]}
    assert set(indicators) == set("ABCDE")  # only departments registered by 2025
    for name, expected in EXPECTED_INDICATORS.items():
        counted = {field: indicators[name][field] for field in expected}
        assert counted == expected, name
    assert indicators["A"]["requests_answered_late"] == 0  # R1's late submission changed nothing
    assert indicators["B"]["records_received"] == 320  # the sealed batch counted once
    assert [(by_code[item["department"]], item["score"], item["rank"])
            for item in report["ranking"]] == EXPECTED_RANKING
    findings = {(by_code[item["department"]], item["indicator"]): item["points"]
                for item in report["rectifications"]}
    assert findings == EXPECTED_FINDINGS
    assert {item["deadline"] for item in report["rectifications"]} == {"2026-04-01"}
    assert (report["due_on"], report["due_basis"]) == ("2026-01-31", "JS §19")
    assert [(by_code[item["department"]], item["score"]) for item in
            report["funding_ineligible"]] == sorted([("C", 50.0), ("D", 80.0)],
                                                    key=lambda pair: departments[pair[0]]
                                                    ["credit_code"])
    c_trend = next(trend for trend in report["trends"] if by_code[trend["department"]] == "C")
    assert [point["score"] for point in c_trend["points"]] == [100.0, 75.0, 65.0, 85.0]
    systems = {by_code[item["department"]]: item for item in report["systems"]}
    assert (systems["A"]["calls_made"], systems["A"]["accesses_served"],
            systems["A"]["zombie"]) == (30, 20, False)
    assert (systems["D"]["calls_made"], systems["D"]["accesses_served"],
            systems["D"]["zombie"]) == (0, 3, True)
    assert report["summary"]["zombie_annual_om_funding"] == "350000.00"

    await _check_renderings(gateway, admin, departments)
    await _check_replay_gives_the_same_report(gateway, admin, report)


async def _check_renderings(gateway: httpx.AsyncClient, admin: dict[str, str],
                            departments: dict[str, Party]) -> None:
    html = await gateway.get(f"{EVALUATION}/reports/2025", params={"format": "html"},
                             headers=admin)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    for key, title in SECTIONS.items():
        assert f'<section id="{key}"><h2>{markup.escape(title, quote=False)}</h2>' in html.text
    assert html.text.count("<svg") == 3  # ranking, breakdown, trends
    assert departments["C"]["name"] in html.text and "僵尸 zombie" in html.text
    assert POINT_TEXT["JS §25(三)"] in html.text

    pdf = await gateway.get(f"{EVALUATION}/reports/2025", params={"format": "pdf"},
                            headers=admin)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(pdf.content)).pages
    text = "".join(page.extract_text() for page in pages).replace("\n", "")
    for title in SECTIONS.values():  # the document's are the Chinese halves
        assert title.split(" ", 1)[0] in text, title
    assert departments["A"]["name"] in text and "§25(六)" in text and "2026年4月1日" in text


async def _check_replay_gives_the_same_report(gateway: httpx.AsyncClient, admin: dict[str, str],
                                              report: dict[str, Any]) -> None:
    before = (await gateway.get(f"{EVALUATION}/model", headers=admin)).json()
    rebuilt = await gateway.post(f"{EVALUATION}/model/rebuild", headers=admin)
    assert rebuilt.status_code == 202, rebuilt.text
    assert rebuilt.json()["events_forgotten"] >= before["events_applied"]

    def same(response: httpx.Response) -> bool:
        return _without_time(response.json()) == _without_time(report)

    await until(lambda: gateway.get(f"{EVALUATION}/reports/2025", headers=admin), same)
    # The 2025 report can be whole again before the replay has reached the last event (of
    # other years and departments); it goes on until every event is applied once more.
    await until(lambda: gateway.get(f"{EVALUATION}/model", headers=admin),
                lambda model: model.json()["events_applied"] >= before["events_applied"])


def _without_time(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "generated_at"}


# --- data on the platform (E1): published is not provided ---------------------------------


def _events_department(name: str) -> Party:
    """A department known to the evaluation only from the events a test writes."""
    return {"credit_code": factories.credit_code(), "name": name}


async def _indicators(gateway: httpx.AsyncClient, admin: dict[str, str], period: str,
                      department: str) -> dict[str, Any]:
    response = await gateway.get(f"{EVALUATION}/indicators", headers=admin,
                                 params={"period": period, "department": department})
    items = response.json()["items"]
    return items[0] if items else {}


async def test_entries_published_but_never_given_data_lower_provision(
    gateway: httpx.AsyncClient, admin_token: str, infrastructure: Infrastructure
) -> None:
    """One provider's 2026: of its shared entries, one was never loaded and one had every
    row refused; the others are loaded, served from its API, or served to a consumer; some
    owe nothing (not shared, by mail, by system integration alone, withdrawn, too new)."""
    admin, provider = bearer(admin_token), _events_department("南京市某数据局")
    front = f"398{random.randint(1000, 9999)}"
    codes = {key: f"{front}/{index:06d}" for index, key in enumerate((
        "never", "refused", "loaded", "api", "served", "not_shared", "mail", "integration",
        "withdrawn", "recent"), 1)}
    recent = datetime.now(UTC) - timedelta(days=3)
    shares = {"not_shared": {"type": "not_shared"}, "mail": {"channel": "mail"},
              "integration": {"methods": ["system_integration"]}}
    async with History(infrastructure.bootstrap_servers) as history:
        await history.send(DepartmentRegistered(
            credit_code=provider["credit_code"], name=provider["name"], tier="municipal",
            region_code="320100"), key=provider["credit_code"], when=at("2026-01-02"))
        for key, code in codes.items():
            published = entry(code, provider, "2026-02-01")
            published = published.model_copy(update={
                "share": ShareAttributes.model_validate({**published.share.model_dump(),
                                                         **shares.get(key, {})}),
                **({"published_at": recent} if key == "recent" else {})})
            await history.send(EntryPublished(entry=published, changed_by="editor"),
                               key=code, when=published.published_at or recent)
        await history.send(EntryWithdrawn(entry=published.model_copy(update={
            "code": codes["withdrawn"], "status": EntryStatus.withdrawn, "version": 2,
            "published_at": at("2026-02-01")}), changed_by="editor"), key=codes["withdrawn"],
            when=at("2026-04-01"))
        for key, accepted in (("refused", 0), ("loaded", 250)):
            await history.send(RecordsLoaded(
                entry_code=codes[key], provider=provider["credit_code"], accepted=accepted,
                rejected=40, loaded_at=at("2026-02-10")), key=codes[key], when=at("2026-02-10"))
        await history.send(SourceApiRegistered(
            entry_code=codes["api"], provider=provider["credit_code"],
            registered_at=at("2026-02-11")), key=codes["api"], when=at("2026-02-11"))
        consumer = _events_department("南京市某使用局")
        await history.send(AuditSealed(
            first_position=1, last_position=4, head_hash="0" * 64, sealed_at=at("2026-03-01"),
            usage=[usage(consumer, provider, codes["served"], "2026-03-01", 4, 4, "c-user")]),
            key="audit", when=at("2026-03-01"))

    # The loads, the API and the use arrive on other topics than the entries, in any order:
    # the count must come down to 2 within the wait (and stay there, as the quarter shows).
    counts = await until(lambda: _indicators(gateway, admin, "2026", provider["credit_code"]),
                         lambda found: found.get("entries_published") == 9
                         and found.get("entries_without_data") == 2)
    assert counts["entries_without_data"] == 2
    first_quarter = await _indicators(gateway, admin, "2026-Q1", provider["credit_code"])
    # The entry withdrawn in April owed its data while it was published.
    assert first_quarter["entries_without_data"] == 3
    january = await _indicators(gateway, admin, "2026-01", provider["credit_code"])
    assert january["entries_published"] == 0 and january["entries_without_data"] == 0
    findings = (await gateway.get(f"{EVALUATION}/rectifications", headers=admin, params={
        "year": "2026", "department": provider["credit_code"]})).json()
    assert [(item["indicator"], item["evidence"]) for item in findings] == [
        ("provision", "0 of 9 entries found stale, 2 with no data on the platform")]


async def test_every_way_data_reaches_the_platform_is_seen_by_the_evaluation(
    gateway: httpx.AsyncClient, admin_token: str, infrastructure: Infrastructure
) -> None:
    """Live: a bulk load, records streamed on the ingest topic (announced in batches, not
    one event a record) and a registered source API each take an entry off the list of
    entries without data."""
    admin = bearer(admin_token)
    current = (await gateway.get(f"{EVALUATION}/scoring-method", headers=admin)).json()
    no_grace = {**current["method"], "data_due_days": 0}
    assert (await gateway.put(f"{EVALUATION}/scoring-method", json=no_grace,
                              headers=admin)).status_code == 200
    try:
        provider = await new_party(gateway, admin_token)
        period = str(datetime.now(UTC).astimezone(CHINA_TIME).year)
        bulk, streamed, served = [await publish(gateway, provider, person_entry())
                                  for _ in range(3)]
        await until(lambda: _indicators(gateway, admin, period, provider["credit_code"]),
                    lambda found: found.get("entries_without_data") == 3)

        assert (await upload(gateway, provider, bulk, as_csv(people(3)))).status_code == 200
        system = await streaming_system(gateway, admin_token, provider)
        await system.stream(infrastructure.bootstrap_servers, streamed,
                            [*people(20), {"GMSFHM": "123"}])
        registered = await gateway.put(
            f"{EXCHANGE}/entries/{served}/source-api", headers=bearer(provider["token"]),
            json={"url_template": "http://127.0.0.1:9/persons/{key}"})
        assert registered.status_code == 200, registered.text

        await until(lambda: _indicators(gateway, admin, period, provider["credit_code"]),
                    lambda found: found.get("entries_without_data") == 0)
        announced = await _records_loaded(infrastructure, streamed, accepted=20, rejected=1)
        assert len(announced) < 10  # in batches, not one event a record
        api = await find_event(infrastructure.bootstrap_servers,
                               SourceApiRegistered.event_type, served)
        assert api.data["provider"] == provider["credit_code"]
    finally:
        await gateway.put(f"{EVALUATION}/scoring-method", json=current["method"], headers=admin)


async def _records_loaded(infrastructure: Infrastructure, code: str, *,
                          accepted: int, rejected: int = 0) -> list[EventEnvelope]:
    """The RecordsLoaded events of `code` on the broker, once they add up to `accepted` and
    `rejected` (a sweep may announce the last of them on its own)."""
    reader = AIOKafkaConsumer(topic_for(RecordsLoaded.event_type), group_id=None,
                              bootstrap_servers=infrastructure.bootstrap_servers,
                              auto_offset_reset="earliest")
    await reader.start()
    found: list[EventEnvelope] = []
    try:
        async with asyncio.timeout(30):
            while (sum(event.data["accepted"] for event in found) < accepted
                   or sum(event.data["rejected"] for event in found) < rejected):
                for records in (await reader.getmany(timeout_ms=500)).values():
                    envelopes = [EventEnvelope.model_validate_json(r.value) for r in records]
                    found += [envelope for envelope in envelopes if envelope.key == code
                              and envelope.type == RecordsLoaded.event_type]
    finally:
        await reader.stop()
    assert sum(event.data["accepted"] for event in found) == accepted
    assert sum(event.data["rejected"] for event in found) == rejected
    return found


# --- consistency (E7): two sources of an item disagreeing ----------------------------------


def _cross_check(left: Party, right: Party, *, compared: int, mismatched: int,
                 run: datetime) -> CrossCheckCompleted:
    return CrossCheckCompleted(
        check_id=uuid.uuid4(), left_entry=f"101001/{random.randint(1, 999999):06d}",
        left_item="XM", left_provider=left["credit_code"],
        right_entry=f"301001/{random.randint(1, 999999):06d}", right_item="XM",
        right_provider=right["credit_code"], compared=compared, mismatched=mismatched,
        run_at=run)


async def test_cross_checked_values_that_differ_count_against_both_providers(
    gateway: httpx.AsyncClient, admin_token: str, infrastructure: Infrastructure
) -> None:
    admin = bearer(admin_token)
    left, right, alone = (_events_department(name) for name in (
        "南京市公安局户籍处", "南京市人社局参保处", "南京市民政局"))
    async with History(infrastructure.bootstrap_servers) as history:
        for party in (left, right, alone):
            await history.send(DepartmentRegistered(
                credit_code=party["credit_code"], name=party["name"], tier="municipal",
                region_code="320100"), key=party["credit_code"], when=at("2026-01-02"))
        for check in (_cross_check(left, right, compared=50, mismatched=2, run=at("2026-03-10")),
                      _cross_check(left, right, compared=50, mismatched=0, run=at("2026-05-10")),
                      _cross_check(alone, alone, compared=10, mismatched=1, run=at("2026-04-01")),
                      _cross_check(left, right, compared=9, mismatched=9, run=at("2025-12-20"))):
            sent = await history.send(check, key=str(check.check_id), when=check.run_at)
        await history.resend(sent)

    def checked(party: Party, subjects: int) -> Any:
        return until(lambda: _indicators(gateway, admin, "2026", party["credit_code"]),
                     lambda found: found.get("crosscheck_subjects") == subjects)

    for party, subjects, mismatches in ((left, 100, 2), (right, 100, 2), (alone, 10, 1)):
        counts = await checked(party, subjects)
        assert counts["crosscheck_mismatches"] == mismatches
    findings = (await gateway.get(f"{EVALUATION}/rectifications", headers=admin, params={
        "year": "2026", "department": right["credit_code"]})).json()
    assert ("quality", "0 objections raised, 0 settled in time, 0 late, 0 unsettled past the "
            "deadline; 2 of 100 cross-checked subjects differing from another source") in [
        (item["indicator"], item["evidence"]) for item in findings]
    second_quarter = await _indicators(gateway, admin, "2026-Q2", left["credit_code"])
    assert (second_quarter["crosscheck_subjects"], second_quarter["crosscheck_mismatches"]) \
        == (50, 0)


async def test_a_cross_check_run_through_the_exchange_reaches_the_evaluation(
    gateway: httpx.AsyncClient, admin_token: str, infrastructure: Infrastructure
) -> None:
    left_party, right_party = (await new_party(gateway, admin_token),
                               await new_party(gateway, admin_token))
    population = people(4)
    differing = [{**person, "XM": "错名" if index == 0 else person["XM"]}
                 for index, person in enumerate(population)]
    left = await publish(gateway, left_party, person_entry())
    right = await publish(gateway, right_party, person_entry())
    assert (await upload(gateway, left_party, left, as_csv(population))).status_code == 200
    assert (await upload(gateway, right_party, right, as_csv(differing))).status_code == 200
    checked = await gateway.post(f"{EXCHANGE}/cross-checks", headers=bearer(admin_token), json={
        "left_entry": left, "left_item": "XM", "right_entry": right, "right_item": "XM"})
    assert checked.status_code == 201, checked.text

    event = await find_event(infrastructure.bootstrap_servers, CrossCheckCompleted.event_type,
                             checked.json()["id"])
    assert (event.data["left_provider"], event.data["right_provider"], event.data["compared"],
            event.data["mismatched"]) == (left_party["credit_code"],
                                          right_party["credit_code"], 4, 1)
    assert "samples" not in event.data  # people's data stays in the exchange
    period = str(datetime.now(UTC).astimezone(CHINA_TIME).year)
    for party in (left_party, right_party):
        counts = await until(lambda p=party: _indicators(gateway, bearer(admin_token), period,
                                                         p["credit_code"]),
                             lambda found: found.get("crosscheck_subjects") == 4)
        assert counts["crosscheck_mismatches"] == 1


# --- no catalog, no approval (C8, 51 §21) -------------------------------------------------


async def _provider_in_good_standing(history: History, party: Party, code: str) -> None:
    """Registered early in 2026, with one entry published and loaded: nothing else to fault."""
    await history.send(DepartmentRegistered(
        credit_code=party["credit_code"], name=party["name"], tier="municipal",
        region_code="320100"), key=party["credit_code"], when=at("2026-01-02"))
    await history.send(EntryPublished(entry=entry(code, party, "2026-01-10"),
                                      changed_by="editor"), key=code, when=at("2026-01-10"))
    await history.send(RecordsLoaded(entry_code=code, provider=party["credit_code"],
                                     accepted=10, rejected=0, loaded_at=at("2026-01-12")),
                       key=code, when=at("2026-01-12"))


def _project(party: Party, name: str, status: str, codes: list[str] | None,
             project_id: uuid.UUID) -> ProjectCatalogChanged:
    return ProjectCatalogChanged(project_id=project_id, department=party["credit_code"],
                                 name=name, status=status, planned_resources=["婚姻登记信息"],
                                 accepted_codes=codes)


async def test_a_project_or_database_outside_the_shared_catalog_bars_approval_and_funding(
    gateway: httpx.AsyncClient, admin_token: str, infrastructure: Infrastructure
) -> None:
    """P withdraws an entry its accepted project attached; Q's project and database are in
    order (and a deregistered database owes nothing); R's database backs only a draft; S
    has a project still being built, and one accepted with nothing attached."""
    admin = bearer(admin_token)
    p, q, r, s = (_events_department(name) for name in (
        "南京市民政局", "南京市卫健委", "南京市住建局", "南京市交通局"))
    front = f"397{random.randint(1000, 9999)}"
    codes = {key: f"{front}/{index:06d}" for index, key in enumerate(
        ("p1", "p2", "q1", "r1", "r_draft", "s1"), 1)}
    async with History(infrastructure.bootstrap_servers) as history:
        for party, key in ((p, "p1"), (p, "p2"), (q, "q1"), (r, "r1"), (s, "s1")):
            await _provider_in_good_standing(history, party, codes[key])
        projects = {name: uuid.uuid4() for name in ("p", "q", "s_building", "s_empty")}
        for party, name, title, codes_attached in (
                (p, "p", "智慧民政综合信息平台建设项目", [codes["p1"], codes["p2"]]),
                (q, "q", "全民健康信息平台建设项目", [codes["q1"]]),
                (s, "s_empty", "智慧交通二期建设项目", None)):
            # Acceptance arrives before the filing: the order of the two does not matter.
            await history.send(_project(party, title, "accepted", codes_attached,
                                        projects[name]), key=str(projects[name]),
                               when=at("2026-03-01"))
            await history.send(_project(party, title, "filed", None, projects[name]),
                               key=str(projects[name]), when=at("2026-01-05"))
        await history.send(_project(s, "智慧交通三期建设项目", "filed", None,
                                    projects["s_building"]), key=str(projects["s_building"]),
                           when=at("2026-02-01"))
        withdrawn = entry(codes["p2"], p, "2026-01-10").model_copy(update={
            "status": EntryStatus.withdrawn, "version": 2})
        await history.send(EntryWithdrawn(entry=withdrawn, changed_by="editor"),
                           key=codes["p2"], when=at("2026-06-01"))
        for party, title, status, backed, day in (
                (q, "全民健康信息库", "registered", [codes["q1"]], "2026-02-01"),
                (q, "旧健康档案库", "registered", [codes["r_draft"]], "2026-02-01"),
                (r, "住房保障数据库", "registered", [codes["r_draft"]], "2026-02-02")):
            database = DatabaseRegistryChanged(database_id=uuid.uuid4(),
                                               department=party["credit_code"], name=title,
                                               status=status, resource_codes=backed)
            await history.send(database, key=str(database.database_id), when=at(day))
            if title == "旧健康档案库":
                await history.send(database.model_copy(update={"status": "deregistered"}),
                                   key=str(database.database_id), when=at("2026-04-01"))

    mine = {party["credit_code"]: name for name, party in
            (("P", p), ("Q", q), ("R", r), ("S", s))}

    def listed(response: httpx.Response) -> dict[str, list[str]]:
        return {mine[item["department"]]: item["reasons"] for item in response.json()
                if item["department"] in mine}

    funding = await until(lambda: gateway.get(f"{EVALUATION}/funding-eligibility",
                                              params={"year": "2026"}, headers=admin),
                          lambda response: len(listed(response)) == 3)
    assert listed(funding) == {
        "P": [f"project 智慧民政综合信息平台建设项目: entries attached at acceptance not in "
              f"the shared catalog ({codes['p2']}) [51 §21]"],
        "R": [f"database 住房保障数据库 backs no entry of the shared catalog "
              f"({codes['r_draft']}) [BJ 三(二), 51 §21]"],
        "S": ["project 智慧交通二期建设项目 accepted without its resource catalog [51 §21]"]}
    counted = await _indicators(gateway, admin, "2026", p["credit_code"])
    assert (counted["projects_without_catalog"], counted["databases_without_catalog"]) == (1, 0)
    before_withdrawal = await _indicators(gateway, admin, "2026-Q1", p["credit_code"])
    assert before_withdrawal["catalog_lapses"] == []


async def test_a_project_whose_entry_is_withdrawn_after_acceptance_loses_funding(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    """Live, through the catalog's registry: the project's catalog, then the database's."""
    editor = await new_party(gateway, admin_token)
    auth = bearer(editor["token"])
    code = await publish(gateway, editor, person_entry())
    project = (await gateway.post("/api/catalog/projects", headers=auth, json={
        "name": "智慧民政综合信息平台建设项目", "planned_resources": ["婚姻登记信息"]})).json()
    accepted = await gateway.post(f"/api/catalog/projects/{project['id']}/acceptance",
                                  headers=auth, json={"entry_codes": [code]})
    assert accepted.status_code == 200, accepted.text
    withdrawn = await gateway.post(f"/api/catalog/entries/{code}/withdraw", headers=auth,
                                   json={"reason": "资源并入省级目录"})
    assert withdrawn.status_code == 200, withdrawn.text
    draft = (await gateway.post("/api/catalog/entries", headers=auth,
                                json=person_entry())).json()["code"]
    registered = await gateway.post("/api/catalog/databases", headers=auth, json={
        "name": "婚姻登记库", "dbms": "PostgreSQL 16", "description": "婚姻登记主库",
        "resource_codes": [draft]})
    assert registered.status_code == 201, registered.text

    year = str(datetime.now(UTC).astimezone(CHINA_TIME).year)

    def reasons(response: httpx.Response) -> list[str]:
        """The department's reasons of 51 §21 (its empty catalog may lower its score too)."""
        found = next((item["reasons"] for item in response.json()
                      if item["department"] == editor["credit_code"]), [])
        return [reason for reason in found if reason.endswith("51 §21]")]

    funding = await until(lambda: gateway.get(f"{EVALUATION}/funding-eligibility",
                                              params={"year": year},
                                              headers=bearer(admin_token)),
                          lambda response: len(reasons(response)) >= 2)
    assert reasons(funding) == [
        f"project 智慧民政综合信息平台建设项目: entries attached at acceptance not in the "
        f"shared catalog ({code}) [51 §21]",
        f"database 婚姻登记库 backs no entry of the shared catalog ({draft}) "
        f"[BJ 三(二), 51 §21]"]


# --- duplicate collection (C7): only flags standing in the period ---------------------------


async def test_only_duplicate_collection_flags_standing_in_the_period_count(
    gateway: httpx.AsyncClient, admin_token: str, infrastructure: Infrastructure
) -> None:
    """P's 2026: e1's flag is cleared in April, e2's stands all year, e3 is withdrawn in
    March; a draft flagged before only published entries were flagged never counts."""
    admin = bearer(admin_token)
    p, owner = _events_department("南京市卫健委"), _events_department("南京市公安局")
    front = f"396{random.randint(1000, 9999)}"
    codes = {key: f"{front}/{index:06d}" for index, key in enumerate(
        ("e1", "e2", "e3", "draft"), 1)}
    async with History(infrastructure.bootstrap_servers) as history:
        for key in ("e1", "e2", "e3"):
            await _provider_in_good_standing(history, p, codes[key])
        for key, day in (("e1", "2026-02-01"), ("e2", "2026-02-01"), ("e3", "2026-02-01"),
                         ("draft", "2026-01-20")):
            await history.send(DuplicateCollectionFlagged(
                entry_code=codes[key], provider=p["credit_code"], item_code="XM",
                item_name="姓名", responsible_department=owner["credit_code"]),
                key=p["credit_code"], when=at(day))
        withdrawn = entry(codes["e3"], p, "2026-01-10").model_copy(update={
            "status": EntryStatus.withdrawn, "version": 2})
        await history.send(EntryWithdrawn(entry=withdrawn, changed_by="editor"),
                           key=codes["e3"], when=at("2026-03-01"))
        for key, reason, day in (("e3", ClearedBecause.entry_withdrawn, "2026-03-01"),
                                 ("e1", ClearedBecause.item_removed, "2026-04-10")):
            await history.send(DuplicateCollectionCleared(
                entry_code=codes[key], provider=p["credit_code"], item_code="XM",
                responsible_department=owner["credit_code"], reason=reason),
                key=p["credit_code"], when=at(day))

    # The last clearance has arrived once only e2's flag stands in the third quarter.
    await until(lambda: _indicators(gateway, admin, "2026-Q3", p["credit_code"]),
                lambda found: found.get("duplicate_collections") == 1)
    counted = [(await _indicators(gateway, admin, period, p["credit_code"]))
               ["duplicate_collections"] for period in ("2026", "2026-Q1", "2026-Q2")]
    assert counted == [3, 3, 2]


# --- the live path and the API's refusals ---------------------------------------------------


async def test_the_exchange_audit_feeds_use_and_out_of_purpose_attempts(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    provider, consumer = (await new_party(gateway, admin_token),
                          await new_party(gateway, admin_token))
    shared = await shared_entry(gateway, provider, consumer)  # ends on one granted query
    person = shared.rows[1]["GMSFHM"]
    assert (await query(gateway, consumer, shared.code, person)).status_code == 200
    refused = await query(gateway, consumer, shared.code, person, purpose="work_reference")
    assert refused.json()["denial"] == "purpose_not_granted"
    client_id = jwt.get_unverified_claims(consumer["token"])["sub"]
    filed = await gateway.post(f"{EVALUATION}/systems", headers=bearer(consumer["token"]), json={
        "name": "社保经办系统", "description": "参保登记核验", "funding_source": "local_budget",
        "construction_funding": "0", "annual_om_funding": "120000", "client_ids": [client_id]})
    assert filed.status_code == 201, filed.text

    def counted(response: httpx.Response) -> bool:
        items = response.json()["items"]
        return bool(items) and items[0]["out_of_purpose_attempts"] == 1

    period = str(datetime.now(UTC).astimezone(CHINA_TIME).year)
    mine = (await until(lambda: gateway.get(f"{EVALUATION}/indicators", params={
        "period": period}, headers=bearer(consumer["token"])), counted)).json()["items"]
    assert [(item["department"], item["accesses_made"], item["records_received"])
            for item in mine] == [(consumer["credit_code"], 2, 2)]
    served = (await gateway.get(f"{EVALUATION}/indicators", params={"period": period},
                                headers=bearer(provider["token"]))).json()["items"][0]
    assert (served["accesses_served"], served["consumers_served"]) == (2, 1)
    systems = (await gateway.get(f"{EVALUATION}/systems", params={"period": period},
                                 headers=bearer(consumer["token"]))).json()["items"]
    used = systems[0]["calls_made"] + systems[0]["accesses_served"]
    assert systems[0]["calls_made"] >= 3 and systems[0]["zombie"] == (used <= 12)


async def test_govshare_report_writes_the_year_as_json_html_and_pdf(
    infrastructure: Infrastructure, gateway: httpx.AsyncClient, admin_token: str, tmp_path: Path
) -> None:
    year = str(datetime.now(UTC).astimezone(CHINA_TIME).year)
    party = await new_party(gateway, admin_token)  # on an initialised node (admin_token's)
    await until(lambda: gateway.get(f"{EVALUATION}/indicators", headers=bearer(admin_token),
                                    params={"period": year, "department": party["credit_code"]}),
                lambda response: bool(response.json().get("items")))
    await asyncio.to_thread(_govshare_report_writes, infrastructure, year, tmp_path,
                            party["credit_code"])


def _govshare_report_writes(infrastructure: Infrastructure, year: str, tmp_path: Path,
                            department: str) -> None:
    """The command's files for `year`, `department` ranked in them (off the event loop: the
    command blocks until it has written them)."""
    result = govshare(infrastructure, "report", "--year", year, "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    written = {path.name for path in tmp_path.iterdir()}
    assert written == {f"evaluation-{year}.{suffix}"
                       for suffix in ("json", "html", "pdf", "ofd")}
    report = json.loads((tmp_path / f"evaluation-{year}.json").read_text())
    assert report["year"] == int(year)
    assert department in {item["department"] for item in report["ranking"]}
    assert f"{report['summary']['departments']} departments" in result.stdout
    html = (tmp_path / f"evaluation-{year}.html").read_text()
    assert all(f'<section id="{key}">' in html for key in SECTIONS)
    assert PdfReader(tmp_path / f"evaluation-{year}.pdf").pages

    refused = govshare(infrastructure, "report", "--year", "1999")
    assert refused.returncode == 2 and "--year" in refused.stderr


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/indicators", {"period": "2026-13"}, "period"),
    ("/indicators", {"period": "2031"}, "period"),
    ("/scores", {"period": "26"}, "period"),
    ("/reports/1999", {}, "year"),
    ("/reports/2040", {}, "year"),
    ("/reports/2026", {"format": "docx"}, "format"),
])
async def test_bad_periods_and_formats_are_refused_with_the_field_named(
    gateway: httpx.AsyncClient, admin_token: str, path: str, params: dict[str, str], field: str
) -> None:
    response = await gateway.get(EVALUATION + path, params=params, headers=bearer(admin_token))
    assert response.status_code == 422, response.text
    assert field in response.text


async def test_a_department_sees_only_its_own_figures_and_files_only_its_own_things(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    one, other = (await new_party(gateway, admin_token), await new_party(gateway, admin_token))
    peek = await gateway.get(f"{EVALUATION}/indicators", headers=bearer(one["token"]),
                             params={"period": "2026", "department": other["credit_code"]})
    assert (peek.status_code, peek.json()["reason"]) == (403, "not_own_department")
    foreign = await gateway.post(f"{EVALUATION}/systems", headers=bearer(one["token"]), json={
        "name": "借用系统", "description": "x", "funding_source": "other",
        "construction_funding": "1", "annual_om_funding": "1",
        "client_ids": [jwt.get_unverified_claims(other["token"])["sub"]]})
    assert foreign.status_code == 422
    assert (foreign.json()["type"].rsplit("/", 1)[1], foreign.json()["field"]) == (
        "registry-violation", "client_ids")
    negative = await gateway.post(f"{EVALUATION}/systems", headers=bearer(one["token"]), json={
        "name": "负数系统", "description": "x", "funding_source": "other",
        "construction_funding": "-1", "annual_om_funding": "1"})
    assert negative.status_code == 422 and "construction_funding" in negative.text
    not_admin = await gateway.put(f"{EVALUATION}/scoring-method", headers=bearer(one["token"]),
                                  json={})
    assert not_admin.status_code == 403


async def test_the_scoring_method_is_validated_and_versioned(
    gateway: httpx.AsyncClient, admin_token: str
) -> None:
    admin = bearer(admin_token)
    national = (await gateway.get(f"{EVALUATION}/scoring-method/defaults/national",
                                  headers=admin)).json()
    assert (national["report_due_month"], national["report_basis"]) == (2, "51 §18")
    incomplete = {**national, "indicators": {
        key: rule for key, rule in national["indicators"].items() if key != "purpose"}}
    refused = await gateway.put(f"{EVALUATION}/scoring-method", json=incomplete, headers=admin)
    assert refused.status_code == 422 and "purpose" in refused.text
    current = (await gateway.get(f"{EVALUATION}/scoring-method", headers=admin)).json()
    changed = await gateway.put(f"{EVALUATION}/scoring-method", json=current["method"],
                                headers=admin)
    assert changed.status_code == 200
    assert changed.json()["version"] == (current["version"] or 0) + 1


# --- rebuilding only from a complete history --------------------------------------------------


async def test_a_new_broker_log_under_an_existing_model_is_noted_as_a_gap(
    infrastructure: Infrastructure, node: RunningNode  # the node's tables, migrated
) -> None:
    """A consumer whose model already holds events, meeting a log it never marked (a broker
    that restarted empty), tells the model; one without events does not."""
    engine = create_engine(infrastructure.database_url, schema="evaluation")
    noted: list[str] = []

    async def note(session: Any) -> None:
        noted.append("gap")

    producer = create_producer(infrastructure.bootstrap_servers, "gap-test")
    probe = BrokerProbe(infrastructure.bootstrap_servers, "gap-test")
    await producer.start()
    await probe.start()
    try:
        for applied_before in (False, True):
            name = f"gap-test-{uuid.uuid4().hex[:8]}"
            if applied_before:
                async with engine.begin() as connection:
                    await connection.execute(insert(processed_event).values(
                        consumer=name, event_id=uuid.uuid4()))
            consumer = IdempotentConsumer(
                name=name, handlers=Handlers(), sessions=create_session_factory(engine),
                outbox=Outbox(node="test-node", service="evaluation"),
                bootstrap_servers=infrastructure.bootstrap_servers, producer=producer,
                probe=probe, on_new_log=note)
            await consumer._check_log_not_replaced()
            assert noted == (["gap"] if applied_before else [])
    finally:
        await producer.stop()
        await probe.stop()
        await engine.dispose()


async def test_a_rebuild_over_a_gap_needs_force_and_then_replays_what_the_broker_holds(
    gateway: httpx.AsyncClient, admin_token: str, infrastructure: Infrastructure
) -> None:
    admin = bearer(admin_token)
    engine = create_engine(infrastructure.database_url, schema="evaluation")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO history_gap DEFAULT VALUES"))
        before = (await gateway.get(f"{EVALUATION}/model", headers=admin)).json()
        assert len(before["history_gaps"]) == 1
        refused = await gateway.post(f"{EVALUATION}/model/rebuild", headers=admin)
        assert refused.status_code == 409
        assert refused.json()["type"].endswith("/history-incomplete")
        assert "force=true" in refused.json()["detail"]
        forced = await gateway.post(f"{EVALUATION}/model/rebuild", params={"force": "true"},
                                    headers=admin)
        assert forced.status_code == 202, forced.text
        after = await until(lambda: gateway.get(f"{EVALUATION}/model", headers=admin),
                            lambda response: response.json()["events_applied"]
                            >= before["events_applied"])
        assert after.json()["history_gaps"] == []
    finally:
        await engine.dispose()
