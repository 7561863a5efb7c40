"""The node's signature on its yearly evaluation report files (V2, issue 20).

The evaluation service lays out the report and asks here (`/internal/report-signatures`,
which the gateway never routes) for the node key's signature on the file's statement: only
statements of that shape are signed, never a token, and dated when the key signs them (not
at a time the caller names). `govshare report` signs through
`sign_report` directly, from the node's database.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization.deps import SessionDep
from services.authorization.exceptions import NodeNotInitialized
from services.authorization.node_keys import active_signing_key, require_local_node
from shared import clock
from shared.contracts.reports import REPORT_SIGNATURE_TYPE, ReportSignature, ReportStatement
from shared.tokens import sign_statement

router = APIRouter(tags=["reports"])


async def sign_report(session: AsyncSession, statement: ReportStatement) -> str:
    """The node key's JWS over a report file's statement, naming the node as `iss`."""
    node = await require_local_node(session)
    key = await active_signing_key(session)
    if key is None:
        raise NodeNotInitialized("The node has no signing key; run `govshare node init`.")
    signed = statement.model_copy(update={"signed_at": clock.now()})
    return sign_statement(key, {**signed.model_dump(mode="json"), "iss": node.id},
                          REPORT_SIGNATURE_TYPE)


@router.post("/internal/report-signatures", response_model=ReportSignature,
             include_in_schema=False)
async def sign_report_file(body: ReportStatement, session: SessionDep) -> ReportSignature:
    """For the evaluation: the node's signature on a report file it made."""
    return ReportSignature(signature=await sign_report(session, body))
