"""Subscriptions (E4): an entry's changes pushed to the consumer's Kafka topic or webhook.

The front-end store is the change feed: every write takes the next `seq`, and each
subscription keeps the cursor of the last change it delivered. A dispatcher claims a due
subscription (`FOR UPDATE SKIP LOCKED`, so replicas share the work), checks the grant, sends
the next changes and moves the cursor only after the receiver took them: delivery is at
least once, and each change carries an idempotency key (`<subscription>:<seq>`) so a
receiver applies it once. An unreachable webhook is retried with exponential backoff; the
cursor waits, so a receiver that is down for an hour misses nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.exchange import audit
from services.exchange.exceptions import SubscriptionNotFound
from services.exchange.filters import passes, project
from services.exchange.gate import decision_for
from services.exchange.models import StoredRecord, Subscription
from services.exchange.validation import KEY_SEPARATOR
from shared.access import AccessDecision, AccessQuery
from shared.contracts.catalog import PermittedUse, ShareMethod
from shared.contracts.exchange import AccessKind
from shared.db import transaction
from shared.kafka import BrokerProbe
from shared.linked_nodes import NodeTokens
from shared.pagination import PageParams, fetch_page

SUBSCRIPTION_METHOD = ShareMethod.system_integration  # push delivery is 系统对接
SIGNATURE_HEADER = "X-Govshare-Signature"
GRANT_RECHECK = timedelta(seconds=30)


DELIVERY_TOPICS = "govshare.delivery."
# What a subscription made before topics were named by department keeps.
LEGACY_DELIVERY_TOPIC = DELIVERY_TOPICS + "{}"


def delivery_topic(consumer: str, subscription_id: object) -> str:
    """Named by the consumer department first, so that the broker's ACLs can give each
    department a prefix of its own and no other's (docs/operations.md)."""
    return f"{DELIVERY_TOPICS}{consumer}.{subscription_id}"


async def create(session: AsyncSession, *, consumer: str, entry_code: str,
                 purpose: PermittedUse, items: list[str], delivery: str,
                 webhook_url: str | None, from_beginning: bool,
                 actor: str, node: str | None = None) -> Subscription:
    """`node`: the consumer is a department of that node; its changes then go through the
    gateways to that node (F2, F5), which puts them on its own broker or posts them to the
    webhook from inside its own network."""
    start = 0 if from_beginning else int(await session.scalar(
        select(func.coalesce(func.max(StoredRecord.seq), 0))
        .where(StoredRecord.entry_code == entry_code)) or 0)
    subscription = Subscription(
        consumer=consumer, entry_code=entry_code, purpose=purpose, items=items,
        delivery=delivery, webhook_url=webhook_url, secret=secrets.token_hex(32),
        node=node,
        cursor=start, status="active", delivered=0, failures=0, created_by=actor)
    session.add(subscription)
    await session.flush()
    if delivery == "kafka":
        subscription.topic = delivery_topic(consumer, subscription.id)
    await session.refresh(subscription, ["next_attempt_at", "created_at"])
    return subscription


async def get_own(session: AsyncSession, subscription_id: object, consumer: str | None,
                  *, for_update: bool = False) -> Subscription:
    subscription = await session.get(Subscription, subscription_id, with_for_update=for_update)
    if subscription is None or subscription.consumer != consumer:
        raise SubscriptionNotFound(f"No subscription {subscription_id} of your department.")
    return subscription


async def list_own(session: AsyncSession, page: PageParams,
                   consumer: str) -> tuple[list[Subscription], int]:
    query = select(Subscription).where(Subscription.consumer == consumer)
    return await fetch_page(session, query.order_by(Subscription.created_at.desc()), page)


class Dispatcher:
    """Delivers due subscriptions, one claimed subscription per transaction."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], topics: DeliveryTopics,
                 http: httpx.AsyncClient, node: str, batch: int, max_backoff: float,
                 idle: float, node_tokens: NodeTokens) -> None:
        self.sessions, self.topics, self.http = sessions, topics, http
        self.node, self.batch, self.max_backoff = node, batch, max_backoff
        self.idle = timedelta(seconds=idle)  # wait before looking again at a quiet entry
        self.node_tokens = node_tokens

    async def run_due(self, limit: int = 50) -> int:
        """Serve up to `limit` due subscriptions; the number served."""
        served = 0
        while served < limit and await self._serve_one():
            served += 1
        return served

    async def _serve_one(self) -> bool:
        async with transaction(self.sessions) as session:
            subscription = await session.scalar(
                select(Subscription).where(Subscription.status == "active",
                                           Subscription.next_attempt_at <= func.now())
                .order_by(Subscription.next_attempt_at).limit(1)
                .with_for_update(skip_locked=True))
            if subscription is None:
                return False
            decision = await _decision(session, subscription)
            if not decision.allowed:
                _wait(subscription, GRANT_RECHECK, f"grant: {decision.detail}")
                return True
            assert decision.grant is not None
            changes = list(await session.scalars(
                select(StoredRecord).where(StoredRecord.entry_code == subscription.entry_code,
                                           StoredRecord.seq > subscription.cursor)
                .order_by(StoredRecord.seq).limit(self.batch)))
            if not changes:
                _wait(subscription, self.idle, None)
                return True
            messages = [_message(subscription, change, decision) for change in changes
                        if change.deleted or passes(decision.grant.row_filter, change.data)]
            try:
                await self._deliver(subscription, messages)
            except Exception as error:
                subscription.failures += 1
                backoff = min(self.max_backoff, 2.0 ** min(subscription.failures, 20))
                _wait(subscription, timedelta(seconds=backoff), repr(error)[:500])
                return True
            subscription.cursor = changes[-1].seq
            subscription.delivered += len(messages)
            subscription.failures = 0
            _wait(subscription, timedelta(0) if len(changes) == self.batch else self.idle, None)
            if messages:
                audit.record(session, audit.Access(
                    kind=AccessKind.delivery, consumer=subscription.consumer,
                    provider=decision.grant.provider, entry_code=subscription.entry_code,
                    grant_id=decision.grant.id, purpose=subscription.purpose,
                    items=decision.items, record_count=len(messages)),
                    actor=f"subscription:{subscription.id}", node=self.node)
            return True

    async def _deliver(self, subscription: Subscription, messages: list[dict[str, Any]]) -> None:
        if not messages:
            return
        if subscription.node:
            await self._to_node(subscription, messages)
        elif subscription.delivery == "kafka":
            assert subscription.topic is not None  # every Kafka subscription has one
            await self.topics.publish(subscription.topic, messages)
        else:
            await self._to_webhook(subscription, messages)

    async def _to_node(self, subscription: Subscription, messages: list[dict[str, Any]]) -> None:
        """To the consumer's node, through the gateways on the way (F2, F5): onto its own
        broker, or posted from there to the webhook, as signed here."""
        assert subscription.node is not None
        route = await self.node_tokens.route_to(subscription.node)
        if subscription.delivery == "webhook":
            body, headers = webhook_request(subscription, messages)
            path, payload = "webhook-deliveries", {
                "consumer": subscription.consumer, "url": subscription.webhook_url,
                "body": body.decode(), "headers": headers}
        else:
            path, payload = "deliveries", {
                "entry_code": subscription.entry_code, "changes": messages,
                # its topic's name, as the consumer was given it
                "consumer": None if subscription.topic == LEGACY_DELIVERY_TOPIC.format(
                    subscription.id) else subscription.consumer}
        response = await self.http.post(
            f"{route.gateway_url}/federation/exchange/{path}/{subscription.id}",
            json=payload, headers={"Authorization": f"Bearer {route.token}"})
        if response.status_code >= 300:
            raise RuntimeError(f"{subscription.node} answered {response.status_code}: "
                               f"{response.text[:300]}")

    async def _to_webhook(self, subscription: Subscription,
                          messages: list[dict[str, Any]]) -> None:
        assert subscription.webhook_url is not None
        body, headers = webhook_request(subscription, messages)
        response = await self.http.post(subscription.webhook_url, content=body,
                                        headers=headers)
        if response.status_code >= 300:
            raise RuntimeError(f"webhook answered {response.status_code}")


def webhook_request(subscription: Subscription,
                    messages: list[dict[str, Any]]) -> tuple[bytes, dict[str, str]]:
    """The body and headers a webhook receives: signed with the subscription's secret, which
    only this node and the consumer hold, so the nodes on the way can carry but not forge it."""
    body = json.dumps({"subscription_id": str(subscription.id),
                       "entry_code": subscription.entry_code, "changes": messages},
                      ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    return body, {
        "Content-Type": "application/json",
        "Idempotency-Key": f"{messages[0]['idempotency_key']}..{messages[-1]['cursor']}",
        "X-Govshare-Timestamp": timestamp,
        SIGNATURE_HEADER: sign(subscription.secret, timestamp, body)}


class DeliveryTopics:
    """Puts delivered changes on this node's broker, one topic per subscription."""

    def __init__(self, producer: AIOKafkaProducer, probe: BrokerProbe) -> None:
        self.producer, self.probe = producer, probe
        self._ready: set[str] = set()

    async def publish(self, topic: str, messages: list[dict[str, Any]]) -> None:
        if topic not in self._ready:
            await self.probe.end_offset(topic)  # the broker creates it before the first write
            await self.producer.client.force_metadata_update()
            self._ready.add(topic)
        sent = [await self.producer.send(
            topic, json.dumps(message, ensure_ascii=False).encode(),
            key=str(message["key"]).encode(),
            headers=[("idempotency-key", str(message["idempotency_key"]).encode())])
            for message in messages]
        for future in sent:
            await future


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC of "<timestamp>." + body>`, the receiver's proof of origin."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


async def _decision(session: AsyncSession, subscription: Subscription) -> AccessDecision:
    return await decision_for(session, AccessQuery(
        consumer=subscription.consumer, entry_code=subscription.entry_code,
        purpose=PermittedUse(subscription.purpose), method=SUBSCRIPTION_METHOD,
        items=frozenset(subscription.items)))


def _message(subscription: Subscription, change: StoredRecord,
             decision: AccessDecision) -> dict[str, Any]:
    return {
        "idempotency_key": f"{subscription.id}:{change.seq}", "cursor": change.seq,
        "key": change.key.replace(KEY_SEPARATOR, ","), "deleted": change.deleted,
        "record": None if change.deleted else project(change.data, decision.items),
    }


def _wait(subscription: Subscription, delay: timedelta, error: str | None) -> None:
    # Real time, not the node's clock: the schedule paces calls to receivers that live in
    # real time, and the dispatcher compares it with the database's now().
    subscription.next_attempt_at = datetime.now(UTC) + delay
    subscription.last_error = error
