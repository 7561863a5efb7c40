"""The yearly report's files through the node (issue 20): the API's PDF/A and OFD carry the
node's signature, made by its identity service's key; `govshare report verify` checks them
against the keys the gateway publishes, and refuses a copy with one byte changed. The files
`govshare report` writes from the database are signed the same way."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from jose import jws
from pypdf import PdfReader

from services.evaluation.report_signature import PDF_KEY
from shared.workdays import CHINA_TIME
from tests.conftest import Infrastructure, RunningNode
from tests.integration.conftest import bearer
from tests.integration.test_cli import govshare

EVALUATION = "/api/evaluation"
MEDIA_TYPES = {"pdf": "application/pdf", "ofd": "application/ofd"}


def this_year() -> int:
    return datetime.now(UTC).astimezone(CHINA_TIME).year


def verify(infrastructure: Infrastructure, node: RunningNode, path: Path
           ) -> tuple[int, str]:
    result = govshare(infrastructure, "report", "verify", str(path), "--keys",
                      f"{node.gateway_url}/.well-known/jwks.json")
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("format", ["pdf", "ofd"])
async def test_the_report_file_comes_signed_and_fails_verification_once_changed(
    gateway: httpx.AsyncClient, admin_token: str, infrastructure: Infrastructure,
    node: RunningNode, tmp_path: Path, format: str
) -> None:
    response = await gateway.get(f"{EVALUATION}/reports/{this_year()}",
                                 params={"format": format}, headers=bearer(admin_token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MEDIA_TYPES[format]
    digest = base64.b64encode(hashlib.sha256(response.content).digest()).decode()
    assert response.headers["repr-digest"] == f"sha-256=:{digest}:"
    path = tmp_path / f"evaluation.{format}"
    path.write_bytes(response.content)
    status, said = verify(infrastructure, node, path)
    assert status == 0, said
    assert f"the {this_year()} report" in said and hashlib.sha256(
        response.content).hexdigest() in said

    changed = bytearray(response.content)
    changed[len(changed) // 2] ^= 0x20
    forged = tmp_path / f"forged.{format}"
    forged.write_bytes(bytes(changed))
    status, said = verify(infrastructure, node, forged)
    assert status == 1 and "differs from what was signed" in said, said


async def test_a_report_from_govshare_report_is_signed_by_the_same_key(
    infrastructure: Infrastructure, node: RunningNode, tmp_path: Path
) -> None:
    year = str(this_year())
    written = govshare(infrastructure, "report", "--year", year, "-f", "pdf", "-f", "ofd",
                       "-o", str(tmp_path))
    assert written.returncode == 0, written.stderr
    pdf = tmp_path / f"evaluation-{year}.pdf"
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    assert reader.metadata is not None
    assert reader.metadata.title == f"{year}年度政务信息资源共享评价报告"
    assert pdf.read_bytes().count(PDF_KEY) == 1
    for path in (pdf, tmp_path / f"evaluation-{year}.ofd"):
        status, said = verify(infrastructure, node, path)
        assert status == 0, said

    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(b"%PDF-1.7\n%%EOF\n")
    status, said = verify(infrastructure, node, unsigned)
    assert status == 1 and "no node signature" in said


async def test_the_identity_dates_a_report_signature_itself(
    admin_token: str, node: RunningNode
) -> None:  # the node initialised (by admin_token), with its key
    statement = {"year": this_year(), "tier": "national", "format": "pdf", "length": 4096,
                 "excluded": [100, 1124], "digest": "0" * 64,
                 "signed_at": "2001-01-01T00:00:00+08:00"}  # a date the caller makes up
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{node.service_urls['authorization']}/internal/report-signatures", json=statement)
    assert answer.status_code == 200, answer.text
    signed = json.loads(jws.get_unverified_claims(answer.json()["signature"]))
    assert not signed["signed_at"].startswith("2001")  # when the key signed it
