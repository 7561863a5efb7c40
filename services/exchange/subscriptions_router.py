"""Subscriptions API (E4): a consumer's standing order for an entry's changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request, status

from services.exchange import subscriptions
from services.exchange.deps import Operator, SessionDep
from services.exchange.exceptions import AccessDenied
from services.exchange.gate import decision_for
from services.exchange.models import Subscription
from services.exchange.query import published_resource
from services.exchange.schemas import SubscriptionCreate, SubscriptionPublic, SubscriptionWithSecret
from shared.access import AccessQuery
from shared.pagination import Page, PageDep
from shared.problems import Unprocessable
from shared.tokens import PrincipalKind

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])


@router.post("", response_model=SubscriptionWithSecret, status_code=status.HTTP_201_CREATED,
             summary="Subscribe to an entry's changes (needs a grant for 系统对接)")
async def subscribe(body: SubscriptionCreate, request: Request, principal: Operator,
                    session: SessionDep) -> Subscription:
    if (body.delivery == "webhook") != (body.webhook_url is not None):
        raise Unprocessable("A webhook subscription needs webhook_url; a kafka one none.",
                            field="webhook_url")
    resource = await published_resource(session, body.entry_code)
    consumer = principal.department or ""
    decision = await decision_for(session, AccessQuery(
        consumer=consumer, entry_code=resource.code, purpose=body.purpose,
        method=subscriptions.SUBSCRIPTION_METHOD, items=frozenset(body.items)))
    if not decision.allowed:
        assert decision.denial is not None
        raise AccessDenied(decision.detail, denial=decision.denial)
    # A department of another node (F2) gets its kafka delivery on its own node's broker.
    remote = principal.node if principal.kind == PrincipalKind.node else None
    return await subscriptions.create(
        session, consumer=consumer, entry_code=resource.code, purpose=body.purpose,
        items=list(decision.items), delivery=body.delivery,
        webhook_url=str(body.webhook_url) if body.webhook_url else None,
        from_beginning=body.from_beginning, actor=principal.sub, node=remote)


@router.get("", response_model=Page[SubscriptionPublic], summary="My department's subscriptions")
async def list_subscriptions(principal: Operator, session: SessionDep,
                             page: PageDep) -> dict[str, object]:
    items, total = await subscriptions.list_own(session, page, principal.department or "")
    return page.wrap(items, total)


@router.get("/{subscription_id}", response_model=SubscriptionPublic,
            summary="One subscription: cursor, deliveries, last error")
async def get_subscription(subscription_id: uuid.UUID, principal: Operator,
                           session: SessionDep) -> Subscription:
    return await subscriptions.get_own(session, subscription_id, principal.department)


@router.delete("/{subscription_id}", response_model=SubscriptionPublic,
               summary="End a subscription")
async def end_subscription(subscription_id: uuid.UUID, principal: Operator,
                           session: SessionDep) -> Subscription:
    subscription = await subscriptions.get_own(session, subscription_id, principal.department,
                                               for_update=True)
    subscription.status = "ended"
    subscription.next_attempt_at = datetime.now(UTC)
    return subscription
