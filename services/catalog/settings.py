"""Settings of the catalog service."""

from __future__ import annotations

from pydantic import Field

from shared.contracts import Zone
from shared.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    node_zone: Zone = Field(
        Zone.external, description="Network zone of this node; classified entries need internal."
    )
    federation_push_seconds: float = Field(
        0.5, gt=0, description="How often catalog changes are pushed to the parent node (F1).")
    federation_timeout_seconds: float = Field(
        15.0, gt=0, description="Timeout of a call to a linked node's gateway.")
