"""Settings of the evaluation service."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class EvaluationSettings(ServiceSettings):
    rebuild_wait_seconds: float = Field(
        30.0, gt=0, description="How long a rebuild request waits for the consumer to take "
                                "it before answering 503.")
