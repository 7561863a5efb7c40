"""Settings of the evaluation service."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class EvaluationSettings(ServiceSettings):
    rebuild_wait_seconds: float = Field(
        30.0, gt=0, description="How long a rebuild request waits for the consumer to take "
                                "it before answering 503.")
    rectification_check_seconds: float = Field(
        3600.0, gt=0, description="How often last year's rectification list is looked at for "
                                  "items not yet announced (once its report is due).")
