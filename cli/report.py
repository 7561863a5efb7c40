"""`govshare report`: the yearly evaluation report written from the node's database, its PDF
and OFD signed with the node's key as the API signs them, and `govshare report verify FILE`,
which checks a file's signature against the signing node's published keys."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli.database import identity_session
from cli.settings import CliSettings
from services.authorization.federation import JWKS_PATH
from services.authorization.report_signing import sign_report
from services.evaluation import report_signature
from services.evaluation.app import MIGRATIONS as EVALUATION_MIGRATIONS
from services.evaluation.render_html import to_html
from services.evaluation.render_ofd import to_ofd
from services.evaluation.render_pdf import to_pdf
from services.evaluation.report import ReportFormat, YearReport
from services.evaluation.report import build as build_report
from shared import clock
from shared.contracts.reports import ReportFileFormat, ReportStatement
from shared.db import create_engine, create_session_factory
from shared.migrations import upgrade_to_head
from shared.runtime import jwks_from_url
from shared.tokens import JwksLoader, KeySet

SIGNED = {ReportFormat.pdf: ReportFileFormat.pdf, ReportFormat.ofd: ReportFileFormat.ofd}
RENDERINGS: dict[ReportFormat, Callable[[YearReport], bytes]] = {
    ReportFormat.json: lambda built: built.model_dump_json(indent=2).encode(),
    ReportFormat.html: lambda built: to_html(built).encode(),
    ReportFormat.pdf: to_pdf,
    ReportFormat.ofd: to_ofd,
}


class DatabaseSigner:
    """The node's signature, from its own database (the CLI runs beside the node)."""

    def __init__(self, settings: CliSettings, database_url: str) -> None:
        self.settings, self.database_url = settings, database_url

    async def sign(self, statement: ReportStatement) -> str:
        async with identity_session(self.settings, self.database_url) as (session, _):
            return await sign_report(session, statement)


async def write(settings: CliSettings, database_url: str, year: int,
                formats: list[ReportFormat]) -> tuple[YearReport, dict[ReportFormat, bytes]]:
    """The year's report from the evaluation's model, in each format; PDF and OFD signed."""
    engine = create_engine(database_url, schema="evaluation", pool_size=1)
    try:
        await upgrade_to_head(engine, "evaluation", EVALUATION_MIGRATIONS)
        async with create_session_factory(engine)() as session:
            built = await build_report(session, year)
    finally:
        await engine.dispose()
    signer = DatabaseSigner(settings, database_url)
    files = {}
    for chosen in formats:
        data = RENDERINGS[chosen](built)
        if chosen in SIGNED:
            data = await report_signature.sign(
                report_signature.prepare(data, SIGNED[chosen]),
                year=built.year, tier=built.tier, signed_at=clock.now(), signer=signer)
        files[chosen] = data
    return built, files


def keys_from(source: str) -> JwksLoader:
    """The signing node's published keys, from a URL or a JWKS file."""
    if source.startswith(("http://", "https://")):
        return jwks_from_url(source)

    published = json.loads(Path(source).read_text())

    async def from_file() -> dict[str, Any]:
        return published

    return from_file


def default_keys(gateway: str) -> str:
    return gateway.rstrip("/") + JWKS_PATH


def verify(path: Path, keys: str) -> dict[str, Any]:
    """What the file's signature states, if it holds (SignatureInvalid otherwise)."""
    return asyncio.run(report_signature.verify(path.read_bytes(), KeySet(keys_from(keys))))
