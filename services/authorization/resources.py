"""The sharing workflow's read model of the catalog: what each entry shares, and how."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization.models import SharedResource
from shared.contracts.catalog import EntrySnapshot


async def store_if_newer(session: AsyncSession, entry: EntrySnapshot) -> bool:
    """Upsert the entry unless a later version is already stored (events may come late)."""
    values = {
        "code": entry.code, "provider": entry.provider, "provider_name": entry.provider_name,
        "name": entry.name, "status": entry.status, "version": entry.version,
        "share_type": entry.share.type, "permitted_uses": list(entry.share.permitted_uses),
        "item_share_types": {item.code: item.share_type for item in entry.items},
        "methods": list(entry.share.methods), "sensitive": entry.share.sensitive,
    }
    stored = await session.scalar(
        insert(SharedResource).values(**values)
        .on_conflict_do_update(index_elements=[SharedResource.code], set_=values,
                               where=SharedResource.version < entry.version)
        .returning(SharedResource.code)
    )
    return stored is not None
