"""What a node signs of a yearly evaluation report file (V2, issue 20): the evaluation asks
the identity service, which alone holds the node's key, to sign this statement, and the
signed statement travels inside the file it describes.

The file keeps a place for the signature (`excluded`, bytes [start, end)); the digest covers
every other byte, and the statement names that place and the file's length, so changing any
byte of the file, the signature's place included, makes the check fail.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.anchoring import AwareMoment
from shared.contracts.identity import Tier
from shared.contracts.values import Year

REPORT_SIGNATURE_TYPE = "govshare-evaluation-report+jws"
"""The `typ` of the JWS in which a node signs a report file's statement."""

LARGEST_FILE = 2**40


class ReportFileFormat(StrEnum):
    pdf = "pdf"
    ofd = "ofd"


class ReportStatement(BaseModel):
    """A yearly report file, as its node's key signs it. The signing node adds itself as
    `iss`."""

    model_config = ConfigDict(extra="forbid")
    year: Year
    tier: Tier
    format: ReportFileFormat
    length: int = Field(ge=1, le=LARGEST_FILE, description="The signed file's size in bytes.")
    excluded: tuple[int, int] = Field(description="The bytes [start, end) holding the "
                                                  "signature, the only ones not digested.")
    digest: str = Field(pattern=r"^[0-9a-f]{64}$",
                        description="SHA-256 of the file without the excluded bytes.")
    signed_at: AwareMoment


class ReportSignature(BaseModel):
    signature: str = Field(description=f"JWS ({REPORT_SIGNATURE_TYPE}, ES256) by the node's "
                                       "key over the statement.")
