"""Settings of the catalog service."""

from __future__ import annotations

from pydantic import Field

from shared.contracts import Zone
from shared.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    node_zone: Zone = Field(
        Zone.external, description="Network zone of this node; classified entries need internal."
    )
