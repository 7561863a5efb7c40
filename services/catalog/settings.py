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
        0.5, gt=0, description="How often catalog changes are pushed to the linked nodes: up "
        "to the parent (F1), down to the children (F6).")
    federation_timeout_seconds: float = Field(
        15.0, gt=0, description="Timeout of a call to a linked node's gateway.")
    search_cache_seconds: float = Field(
        1.0, ge=0, description="How long a search result is kept at most while the catalog "
        "does not change (a change shows at the next search); 0 keeps none.")
