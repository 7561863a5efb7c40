"""Data in and out (E1–E3): bulk loads and the provider's API; online query; bulk download.

Providers' systems load with the data_operator role; consumers' systems query and download
with it, declaring the purpose on every call. Every access is decided by the grant and
written to the audit log before any data leaves.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from services.exchange import audit, download, loading
from services.exchange.deps import Operator, OutboxDep, SessionDep, SettingsDep, runtime_of
from services.exchange.download import Export, Format
from services.exchange.exceptions import BadUpload, LoadNotFound, LoadRunning
from services.exchange.models import Load, SourceApi
from services.exchange.query import published_resource, require_provider
from services.exchange.schemas import (
    Front,
    LoadPublic,
    LoadStatus,
    Number,
    QueryResult,
    SourceApiPublic,
    SourceApiRegister,
)
from services.exchange.source_apis import (
    check_source_url,
    credential_context,
    template_fields,
)
from shared import sealing
from shared.contracts.catalog import ItemCode, PermittedUse, ShareMethod
from shared.contracts.exchange import AccessKind, SourceApiRegistered
from shared.db import transaction
from shared.pagination import Page, PageDep, fetch_page
from shared.problems import ProblemError
from shared.web import BULK_MEDIA_TYPES

router = APIRouter(tags=["records"])

UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"},
                 "example": "GMSFHM,XM\n320102199001011234,张三\n"},
    "application/x-ndjson": {"schema": {"type": "string"},
                             "example": '{"GMSFHM": "320102199001011234", "XM": "张三"}\n'},
}}}


DOWNLOAD_DESCRIPTION = (
    "Streams the granted items of every record, in cursor order. Each row has `_cursor` (ask "
    "again with `since=<last cursor>` to resume, or with `X-Cursor-End` for what changed "
    "since) and `_deleted` (a CSV column `true`/`false`; a JSON boolean). A full download "
    "(no `since`, or 0) holds only current records. A download since a cursor also holds "
    "each record deleted after it, within the grant's row filter, as a tombstone: "
    "`_deleted` true, its `_cursor` and its key items (those granted); its other items are "
    "empty (CSV) or null (JSON). Apply rows in order: a later row of a key replaces an "
    "earlier one, a tombstone removes it.")


class UnsupportedMediaType(ProblemError):
    status, slug, title = 415, "unsupported-media-type", "Upload CSV or JSON Lines"


UPLOAD_DESCRIPTION = (
    "Rows are checked against the entry's items and upserted by its key items, in batches of "
    "2,000, each committed with its refusals and the load's figures; the answer is the load's "
    "report. A load cut short (the connection lost, the service restarted) keeps the batches "
    "it committed and ends `interrupted`: its record (`GET /loads?entry_code=…&status="
    "interrupted`) says how many rows it stored, the refusals found so far and `last_line`, "
    "the last line stored. Send the same file again with `resume=<its id>` and the load goes "
    "on after that line, in the same record; sending the whole file again without `resume` "
    "is as correct (rows already stored are left as they are), only slower.")


@router.post("/entries/{front}/{number}/records", response_model=LoadPublic,
             summary="Load records into the front-end store (provider; CSV or JSON Lines)",
             description=UPLOAD_DESCRIPTION, openapi_extra=UPLOAD_BODY)
async def upload_records(
    front: Front, number: Number, request: Request, principal: Operator,
    resume: Annotated[uuid.UUID | None, Query(description="The id of an interrupted load of "
                                              "this entry, to go on with after its "
                                              "`last_line`; send the same file.")] = None,
) -> Load:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not media_type.startswith(BULK_MEDIA_TYPES):
        raise UnsupportedMediaType(f"Send text/csv or application/x-ndjson, not {media_type!r}.")
    runtime = runtime_of(request)
    load_id = resume or uuid.uuid4()
    async with loading.running(runtime.engine, load_id) as held:
        if not held:
            raise LoadRunning(f"Load {load_id} is running; wait for it to end.")
        async with transaction(runtime.sessions) as session:
            resource = await published_resource(session, f"{front}/{number}")
            require_provider(resource, principal)
            loading.validator_for(resource)
            if resume:
                load = await loading.resume(session, resume, resource, media_type,
                                            principal.department)
            else:
                load = Load(id=load_id, entry_code=resource.code, provider=resource.provider,
                            media_type=media_type, status="running", accepted=0, rejected=0,
                            rejections=[], loaded_by=principal.sub, last_line=0)
                session.add(load)
        return await loading.load_stream(runtime.sessions, runtime.outbox, load, resource,
                                         request.stream())


@router.get("/loads", response_model=Page[LoadPublic], summary="My department's loads")
async def list_loads(principal: Operator, session: SessionDep, page: PageDep,
                     entry_code: Annotated[str | None, Query(max_length=30)] = None,
                     status: Annotated[LoadStatus | None, Query()] = None,
                     ) -> dict[str, object]:
    query = select(Load).where(Load.provider == (principal.department or ""))
    if entry_code:
        query = query.where(Load.entry_code == entry_code)
    if status:
        query = query.where(Load.status == status)
    items, total = await fetch_page(session, query.order_by(Load.started_at.desc()), page)
    return page.wrap(items, total)


@router.get("/loads/{load_id}", response_model=LoadPublic, summary="One load and its report")
async def get_load(load_id: uuid.UUID, principal: Operator, session: SessionDep) -> Load:
    load = await session.get(Load, load_id)
    if load is None or load.provider != principal.department:
        raise LoadNotFound(f"No load {load_id} of your department.")
    return load


@router.put("/entries/{front}/{number}/source-api", response_model=SourceApiPublic,
            summary="Serve queries from the provider's own API (系统对接)")
async def register_source_api(front: Front, number: Number, body: SourceApiRegister,
                              principal: Operator, session: SessionDep, outbox: OutboxDep,
                              settings: SettingsDep) -> SourceApi:
    resource = await published_resource(session, f"{front}/{number}")
    require_provider(resource, principal)
    if template_fields(body.url_template) != {"key"}:
        raise BadUpload("The URL template must contain {key} and no other {field}.",
                        field="url_template")
    await check_source_url(body.url_template, settings.source_api_allowed_networks)
    source = await session.get(SourceApi, resource.code) or SourceApi(entry_code=resource.code)
    source.url_template, source.registered_by = body.url_template, principal.sub
    credential = body.credential
    source.credential_header = credential.header if credential else None
    source.credential = sealing.sealer().seal(
        credential.value, context=credential_context(resource.code)) if credential else None
    session.add(source)
    await session.flush()
    await session.refresh(source, ["registered_at"])
    # The evaluation counts the entry as provided: its data is on the platform (E1).
    await outbox.add(session, resource.code, SourceApiRegistered(
        entry_code=resource.code, provider=resource.provider,
        registered_at=source.registered_at))
    return source


@router.get("/entries/{front}/{number}/record", response_model=QueryResult,
            summary="Online query of one record by its key (consumer)",
            description="Served by `fast_path.QueryFastPath` ahead of the framework; this "
                        "route documents it and answers if the fast path is not installed.")
async def query_record(
    front: Front, number: Number, request: Request, principal: Operator,
    key: Annotated[list[str], Query(min_length=1, max_length=10,
                                    description="Values of the entry's key items, in order.")],
    purpose: Annotated[PermittedUse, Query(description="The use this query serves.")],
    items: Annotated[list[ItemCode], Query(description="Items wanted; empty: every "
                                           "granted item.")] = [],  # noqa: B006
) -> Response:
    body = await request.app.state.queries.answer(principal, f"{front}/{number}", key,
                                                  purpose, items)
    return Response(body, media_type="application/json")


@router.get("/entries/{front}/{number}/records", summary="Bulk download, full or since a "
            "cursor (consumer); streamed", response_class=StreamingResponse,
            description=DOWNLOAD_DESCRIPTION,
            responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}},
                             "description": "Rows with `_cursor`, the granted items and "
                             "`_deleted`. Headers: X-Record-Count, X-Cursor-End."}})
async def download_records(
    front: Front, number: Number, request: Request, principal: Operator,
    purpose: Annotated[PermittedUse, Query(description="The use this download serves.")],
    format: Format = Format.csv,
    since: Annotated[int, Query(ge=0, le=2**63 - 1, description="Only changes after this cursor, "
                                "deletions included (tombstones); 0: a full download.")] = 0,
    items: Annotated[list[ItemCode], Query()] = [],  # noqa: B006
) -> StreamingResponse:
    runtime = runtime_of(request)
    async with transaction(runtime.sessions) as session:
        resource = await published_resource(session, f"{front}/{number}")
        decision = await request.app.state.gate.admit(
            session, principal, resource, kind=AccessKind.download, purpose=purpose,
            method=ShareMethod.bulk_download, items=items)
    export = Export(resource.code, decision.items, tuple(decision.grant.row_filter), since,
                    tuple(resource.key_items))
    return await download.audited_response(
        runtime, export, format, actor=principal.sub, access=lambda rows: audit.Access(
            kind=AccessKind.download, consumer=principal.department or "",
            provider=resource.provider, entry_code=resource.code, grant_id=decision.grant.id,
            purpose=purpose, items=decision.items, record_count=rows,
            route=audit.route_of(principal)))
