"""A node's evaluation report and figures, handed up to its parent node (F7): what travels,
and the statement the child's node key signs over it.

The yearly report goes up as its signed file (PDF/A or OFD, issue 20) with its figures, a
quarter's as its figures alone. The child's identity service signs a statement of the
submission (its period, the digests of the figures and of the file, when it was made), so
the parent holds, beside what arrived, the child's own word for it, checkable later with
the child's published keys.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.anchoring import AwareMoment
from shared.contracts.reports import ReportFileFormat

SUBMISSION_TYPE = "govshare-report-submission+jws"
"""The `typ` of the JWS in which a node signs what it submits to its parent."""

PERIOD = r"^20[0-9]{2}(-Q[1-4])?$"
DIGEST = r"^[0-9a-f]{64}$"
LARGEST_FILE = 8 * 1024 * 1024  # the report of a province's 400 departments is ~2 MB


class SubmissionKind(StrEnum):
    yearly = "yearly"  # the yearly report, due to the parent [51 §18, JS §19]
    quarterly = "quarterly"  # a quarter's figures, for the parent's running view


class Figures(BaseModel):
    """A node's figures for a period, as the parent rolls them up."""

    model_config = ConfigDict(extra="forbid")
    departments: int = Field(ge=0, description="Departments evaluated.")
    mean_score: float | None = Field(ge=0, le=100, description="Their mean score.")
    requests_due: int = Field(ge=0, description="Conditional requests due for an answer.")
    requests_answered_on_time: int = Field(ge=0)
    objections_raised: int = Field(ge=0)
    accesses: int = Field(ge=0, description="Granted accesses to shared data.")

    def digest(self) -> str:
        """SHA-256 of the figures' canonical JSON: what the statement signs."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class SubmissionStatement(BaseModel):
    """A submission as the child's node key signs it; the signing node adds itself as
    `iss`."""

    model_config = ConfigDict(extra="forbid")
    period: str = Field(pattern=PERIOD, examples=["2026", "2026-Q3"])
    kind: SubmissionKind
    figures_digest: str = Field(pattern=DIGEST)
    file_format: ReportFileFormat | None = Field(description="The yearly report's file.")
    file_digest: str | None = Field(pattern=DIGEST, description="SHA-256 of the whole file.")
    submitted_at: AwareMoment


class SubmissionSignature(BaseModel):
    signature: str = Field(max_length=4000, description=f"JWS ({SUBMISSION_TYPE}, ES256) by "
                                                        "the node's key over the statement.")


class Submission(BaseModel):
    """What a child sends its parent's `/federation/evaluation/report-submissions`."""

    statement: SubmissionStatement
    signature: str = Field(max_length=4000)
    figures: Figures
    file: str | None = Field(None, max_length=LARGEST_FILE * 4 // 3 + 4,
                             description="The yearly report's signed file, base64.")
