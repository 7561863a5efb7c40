"""The node's signature inside the yearly report's files, and its check (V2, issue 20).

Each file keeps a place of `SIGNATURE_SPACE` bytes for a compact JWS that the node's key
signs (shared/contracts/reports.py): in a PDF, a string of the document information
dictionary, added as an incremental update (so Typst's PDF/A-2b bytes stay as they are and
the file stays PDF/A); in an OFD, the zip's closing comment. The statement digests every
other byte and names the place and the file's length, so one changed byte anywhere fails
`verify`. No viewer shows this signature (it is not a PAdES one: the node has a key, no
X.509 certificate); `govshare report verify FILE` checks it against the node's published keys.

The place is not digested, so what it holds must be the one spelling of the signature:
ECDSA's (r, n−s) verifies as (r, s) does, and the signature's last base64url character has
bits no decoder reads, so two other JWSs of the same statement would fit the place. The
signature is kept with s in the lower half of the curve's order and in canonical base64url,
and `verify` refuses any other form, so even the place's bytes cannot change unnoticed.

`file_digest` is the SHA-256 of the whole signed file, the one to hand on with the report
(e.g. when it goes up to the parent node).
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any, Protocol

import httpx
from jose.utils import base64url_decode, base64url_encode
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from services.evaluation.exceptions import SignatureUnavailable
from shared.contracts import Tier
from shared.contracts.reports import (
    REPORT_SIGNATURE_TYPE,
    ReportFileFormat,
    ReportSignature,
    ReportStatement,
)
from shared.tokens import KeySet, StatementInvalid, verify_statement

SIGNATURE_SPACE = 1024  # an ES256 JWS of the statement takes about 600 bytes
PDF_KEY = b"/GovshareSignature ("
OFD_MARK = b"govshare-signature:"
ZIP_END = b"PK\x05\x06"
ZIP_END_SIZE = 22
_JWS = re.compile(rb"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class SignatureInvalid(ValueError):
    """The file carries no signature of its node, or it no longer matches the file."""


class ReportSigner(Protocol):
    async def sign(self, statement: ReportStatement) -> str:
        """The node's compact JWS over `statement`."""
        ...


@dataclass(frozen=True)
class Unsigned:
    """A report file with its signature's place still blank."""

    data: bytes
    format: ReportFileFormat
    start: int

    @property
    def end(self) -> int:
        return self.start + SIGNATURE_SPACE

    def statement(self, *, year: int, tier: Tier, signed_at: datetime) -> ReportStatement:
        return ReportStatement(year=year, tier=tier, format=self.format, length=len(self.data),
                               excluded=(self.start, self.end),
                               digest=_digest(self.data, self.start, self.end),
                               signed_at=signed_at)

    def signed(self, signature: str) -> bytes:
        if not _JWS.fullmatch(signature.encode()):
            raise ValueError("not a compact JWS")
        encoded = canonical(signature).encode()
        if len(encoded) > SIGNATURE_SPACE:
            raise ValueError("the JWS does not fit the signature's place")
        return (self.data[:self.start] + encoded.ljust(SIGNATURE_SPACE, b" ")
                + self.data[self.end:])


@dataclass(frozen=True)
class IdentitySigner:
    """The node's signature, from its identity service (which alone holds the key)."""

    http: httpx.AsyncClient
    identity_url: str

    async def sign(self, statement: ReportStatement) -> str:
        try:
            response = await self.http.post(
                f"{self.identity_url.rstrip('/')}/internal/report-signatures",
                json=statement.model_dump(mode="json"))
            response.raise_for_status()
            return ReportSignature.model_validate(response.json()).signature
        except (httpx.HTTPError, ValueError) as error:
            raise SignatureUnavailable(
                "The node's signature cannot be had now (its identity service did not give "
                f"it: {type(error).__name__}); retry in a few seconds.") from error


def prepare(data: bytes, format: ReportFileFormat) -> Unsigned:
    """The file with a blank place for its signature (CPU work: run it in a thread)."""
    return with_pdf_place(data) if format == ReportFileFormat.pdf else with_ofd_place(data)


async def sign(unsigned: Unsigned, *, year: int, tier: Tier, signed_at: datetime,
               signer: ReportSigner) -> bytes:
    """The file with the node's signature in its place."""
    statement = unsigned.statement(year=year, tier=tier, signed_at=signed_at)
    return unsigned.signed(await signer.sign(statement))


def file_digest(data: bytes) -> str:
    """SHA-256 (hex) of the whole file as it was signed and sent."""
    return hashlib.sha256(data).hexdigest()


async def verify(data: bytes, keys: KeySet) -> dict[str, Any]:
    """The signed statement (with `iss`, the node that signed) if the file is whole and
    signed by one of `keys`; SignatureInvalid saying why otherwise."""
    start = _place(data)
    held = data[start:start + SIGNATURE_SPACE]
    signature = held.rstrip(b" ")
    if not _JWS.fullmatch(signature):
        raise SignatureInvalid("the file's signature place holds no signature")
    try:
        claims = await verify_statement(signature.decode(), keys, REPORT_SIGNATURE_TYPE)
        statement = ReportStatement.model_validate(
            {key: value for key, value in claims.items() if key != "iss"})
    except (StatementInvalid, ValueError) as error:
        raise SignatureInvalid(f"the signature does not hold: {error}") from error
    if canonical(signature.decode()) != signature.decode():
        raise SignatureInvalid("the signature's place was changed (it holds another form "
                               "of the signature than the one written)")
    if statement.length != len(data) or statement.excluded != (start, start + SIGNATURE_SPACE):
        raise SignatureInvalid("the file is not the length or shape that was signed")
    if statement.digest != _digest(data, start, start + SIGNATURE_SPACE):
        raise SignatureInvalid("the file's content differs from what was signed")
    return claims


def canonical(signature: str) -> str:
    """The ES256 JWS with s in the lower half of the curve's order, in canonical base64url:
    the one form of it a report file keeps."""
    signing_input, _, encoded = signature.rpartition(".")
    raw = base64url_decode(encoded.encode())
    if len(raw) != 64:
        raise ValueError("not an ES256 signature")
    s = int.from_bytes(raw[32:], "big")
    low = min(s, P256_ORDER - s).to_bytes(32, "big")
    return f"{signing_input}.{base64url_encode(raw[:32] + low).decode()}"


def _digest(data: bytes, start: int, end: int) -> str:
    return hashlib.sha256(data[:start] + data[end:]).hexdigest()


def _place(data: bytes) -> int:
    """Where the signature's place begins, by the file's kind."""
    if data.startswith(b"%PDF-"):
        if data.count(PDF_KEY) != 1:
            raise SignatureInvalid("the PDF carries no node signature (or more than one)")
        start = data.index(PDF_KEY) + len(PDF_KEY)
        if data[start + SIGNATURE_SPACE:start + SIGNATURE_SPACE + 1] != b")":
            raise SignatureInvalid("the PDF's signature place is not whole")
        return start
    if data.startswith(b"PK\x03\x04"):
        start = len(data) - SIGNATURE_SPACE
        comment = OFD_MARK + b" " * SIGNATURE_SPACE
        end_record = data[start - len(OFD_MARK) - ZIP_END_SIZE:start - len(OFD_MARK)]
        if not end_record.startswith(ZIP_END) or end_record[-2:] != struct.pack(
                "<H", len(comment)) or data[start - len(OFD_MARK):start] != OFD_MARK:
            raise SignatureInvalid("the OFD carries no node signature")
        return start
    raise SignatureInvalid("neither a PDF nor an OFD file")


def with_pdf_place(pdf: bytes) -> Unsigned:
    """The PDF with a blank signature string in its information dictionary, written as an
    incremental update (a new revision of that one object, its xref and trailer)."""
    if PDF_KEY in pdf:
        raise ValueError("the PDF already carries a signature place")
    reader = PdfReader(BytesIO(pdf))
    trailer = reader.trailer
    size = int(trailer["/Size"])
    info = trailer.raw_get("/Info") if "/Info" in trailer else None
    number = info.idnum if isinstance(info, IndirectObject) else size
    entries = BytesIO()
    for key, value in (reader.metadata or {}).items():
        entries.write(f"{key} ".encode())
        value.write_to_stream(entries)
    body = pdf if pdf.endswith(b"\n") else pdf + b"\n"
    start = len(body) + len(f"{number} 0 obj\n<<".encode()) + len(entries.getvalue()) \
        + len(PDF_KEY)
    update = (f"{number} 0 obj\n<<".encode() + entries.getvalue() + PDF_KEY
              + b" " * SIGNATURE_SPACE + b")>>\nendobj\n")
    xref_at = len(body) + len(update)
    identifiers = BytesIO()
    trailer["/ID"].write_to_stream(identifiers)
    root = trailer.raw_get("/Root")
    update += (f"xref\n{number} 1\n{len(body):010d} 00000 n\r\ntrailer\n"
               f"<</Size {max(size, number + 1)}/Root {root.idnum} {root.generation} R"
               f"/Info {number} 0 R/Prev {_startxref(pdf)}/ID ").encode() \
        + identifiers.getvalue() + f">>\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return Unsigned(body + update, ReportFileFormat.pdf, start)


def _startxref(pdf: bytes) -> int:
    found = re.findall(rb"startxref\s+(\d+)\s+%%EOF", pdf[-1024:])
    if not found:
        raise ValueError("no startxref at the PDF's end")
    return int(found[-1])


def with_ofd_place(ofd: bytes) -> Unsigned:
    """The OFD (a zip) with a blank signature as the zip's closing comment."""
    if ofd[-ZIP_END_SIZE:-ZIP_END_SIZE + 4] != ZIP_END:
        raise ValueError("the OFD must end with a zip end record without comment")
    comment = OFD_MARK + b" " * SIGNATURE_SPACE
    data = ofd[:-2] + struct.pack("<H", len(comment)) + comment
    return Unsigned(data, ReportFileFormat.ofd, len(data) - SIGNATURE_SPACE)
