"""The node's own calls into the exchange, never routed by the gateway (`/internal/…`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Body, Request, status
from pydantic import AnyHttpUrl, BaseModel, Field, StringConstraints

from services.exchange import audit
from services.exchange.exceptions import WebhookUnanswered
from services.exchange.models import GrantView
from services.exchange.subscriptions import (
    LEGACY_DELIVERY_TOPIC,
    SIGNATURE_HEADER,
    delivery_topic,
)
from shared.auth import parse_bearer
from shared.contracts.catalog import PermittedUse
from shared.contracts.exchange import AccessKind
from shared.db import transaction

router = APIRouter(prefix="/internal", include_in_schema=False)
federation_router = APIRouter(prefix="/federation", tags=["federation"])
"""Calls from linked nodes, through the gateway's `/federation/exchange/…`."""


class ForwardedAccess(BaseModel):
    """A data call this node's gateway relayed to another node for one of its departments."""

    kind: AccessKind
    consumer: str = Field(pattern=r"^[0-9A-Z]{18}$")
    entry_code: str = Field(max_length=60)
    provider_node: str = Field(max_length=18)
    purpose: str | None = Field(None, max_length=100)
    status: int = Field(ge=100, le=599)
    record_count: int = Field(ge=0)
    actor: str = Field(max_length=64)


@router.post("/forwarded-accesses", status_code=status.HTTP_204_NO_CONTENT)
async def record_forwarded(body: Annotated[list[ForwardedAccess], Body(max_length=1000)],
                           request: Request) -> None:
    """The consumer's end of cross-node accesses (F2, E5): the provider's node audits them
    as well; here they are chained with the node's own, the provider named by its node."""
    async with transaction(request.app.state.runtime.sessions) as session:
        await audit.record_many(session, [(audit.Access(
            kind=access.kind, consumer=access.consumer, provider=access.provider_node,
            entry_code=access.entry_code, grant_id=None, purpose=_permitted(access.purpose),
            items=[], record_count=access.record_count,
            denied=None if access.status < 400 else f"remote_{access.status}"),
            access.actor[:64], access.provider_node) for access in body])


class GrantApplied(BaseModel):
    """How far the exchange's view of one grant has got (none: never heard of it)."""

    version: int | None
    status: str | None


@router.get("/grants/{grant_id}", response_model=GrantApplied)
async def grant_applied(grant_id: uuid.UUID, request: Request) -> GrantApplied:
    """The authorization service waits on this before it answers a revocation: the grant's
    version here is what every data call is decided on from now (A5)."""
    async with transaction(request.app.state.runtime.sessions) as session:
        view = await session.get(GrantView, grant_id)
    return GrantApplied(version=view.version if view else None,
                        status=view.status if view else None)


def _permitted(purpose: str | None) -> str | None:
    """The purpose as the audit chain records it: one the rules know, or none."""
    return purpose if purpose in set(PermittedUse) else None


class Delivery(BaseModel):
    entry_code: str = Field(max_length=60)
    consumer: str | None = Field(
        None, pattern=r"^[0-9A-Z]{18}$",
        description="The subscribing department, which names the topic; a node of the "
                    "version before sends none, for subscriptions whose topic is named by "
                    "their id alone.")
    changes: list[dict[str, Any]] = Field(max_length=10_000)


@federation_router.post("/deliveries/{subscription_id}",
                        status_code=status.HTTP_204_NO_CONTENT)
async def receive_delivery(subscription_id: uuid.UUID, body: Delivery,
                           request: Request) -> None:
    """Changes for a subscription one of this node's departments holds on a linked node
    (F2): put on this node's broker, topic `govshare.delivery.<consumer>.<id>`, as a local
    subscription's would be; a batch sent again arrives again, each change with its
    idempotency key."""
    state = request.app.state
    await state.node_tokens.verify(parse_bearer(request.headers.get("authorization", "")),
                                   state.linked_nodes.jwks_of)
    topic = (delivery_topic(body.consumer, subscription_id) if body.consumer
             else LEGACY_DELIVERY_TOPIC.format(subscription_id))
    await state.delivery_topics.publish(topic, body.changes)


class WebhookDelivery(BaseModel):
    """Changes for a webhook of one of this node's departments, as the provider's node
    signed them, to be posted from inside this node's network (F5)."""

    consumer: str = Field(pattern=r"^[0-9A-Z]{18}$")
    url: AnyHttpUrl = Field(description="The webhook the department gave when subscribing.")
    body: str = Field(max_length=50_000_000, description="The JSON body, exactly as signed.")
    headers: dict[str, Annotated[str, StringConstraints(max_length=500)]] = Field(
        max_length=10, description="Content-Type, Idempotency-Key, X-Govshare-Timestamp and "
                                   "the signature.")


WEBHOOK_HEADERS = frozenset({"content-type", "idempotency-key", "x-govshare-timestamp",
                             SIGNATURE_HEADER.lower()})


@federation_router.post("/webhook-deliveries/{subscription_id}",
                        status_code=status.HTTP_204_NO_CONTENT)
async def post_to_webhook(subscription_id: uuid.UUID, body: WebhookDelivery,
                          request: Request) -> None:
    """A subscription's changes for a webhook in this node's network (F5): the provider's
    node cannot reach it, only the gateways reach each other. Posted as signed there, with
    the subscription's secret this node never holds; answered 204 once the webhook took
    them, 502 otherwise, so that the provider keeps its cursor and tries again."""
    state = request.app.state
    await state.node_tokens.verify(parse_bearer(request.headers.get("authorization", "")),
                                   state.linked_nodes.jwks_of)
    headers = {name: value for name, value in body.headers.items()
               if name.lower() in WEBHOOK_HEADERS}
    try:
        answer = await state.webhooks.post(str(body.url), content=body.body.encode(),
                                           headers=headers)
    except httpx.HTTPError as error:
        raise WebhookUnanswered(f"The webhook did not answer: {type(error).__name__}.",
                                subscription_id=str(subscription_id)) from None
    if answer.status_code >= 300:
        raise WebhookUnanswered(f"The webhook answered {answer.status_code}.",
                                subscription_id=str(subscription_id))
