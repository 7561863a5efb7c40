"""DCAT 3 (JSON-LD) export of the entries open to the public, for open-data portals (C9)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import thesaurus
from services.catalog.models import Department, Entry
from services.catalog.search import text_match
from shared.contracts.catalog import EntrySpec, EntryStatus, UpdateCycle
from shared.pagination import PageParams, fetch_page

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
}
DOWNLOAD_FORMATS = (("csv", "CSV", "text/csv"), ("jsonl", "JSON Lines", "application/x-ndjson"))
_FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
FREQUENCIES = {
    UpdateCycle.realtime: "UPDATE_CONT", UpdateCycle.daily: "DAILY",
    UpdateCycle.weekly: "WEEKLY", UpdateCycle.monthly: "MONTHLY",
    UpdateCycle.quarterly: "QUARTERLY", UpdateCycle.half_yearly: "ANNUAL_2",
    UpdateCycle.yearly: "ANNUAL", UpdateCycle.other: "OTHER",
}


async def open_catalog(session: AsyncSession, page: PageParams, title: str, *,
                       text: str | None = None, code: str | None = None) -> dict[str, Any]:
    """A dcat:Catalog of published, open, unclassified entries (one page of them), those
    matching `text` (as catalog search does) or the one of `code` if given."""
    query = select(Entry).where(Entry.status == EntryStatus.published,
                                Entry.spec["open"]["is_open"].as_boolean(),
                                ~Entry.spec["classified"].as_boolean())
    if code:
        query = query.where(Entry.code == code)
    matching = text_match(Entry.search_vector, (await thesaurus.current(session)).interpret(
        text)) if text else None
    if matching:
        query = query.where(matching[0]).order_by(matching[1].desc())
    query = query.order_by(Entry.code)
    entries, total = await fetch_page(session, query, page)
    names = {d.credit_code: d.name for d in await session.scalars(
        select(Department).where(Department.credit_code.in_({e.provider for e in entries})))}
    return {
        "@context": CONTEXT,
        "@type": "dcat:Catalog",
        "dct:title": title,
        "dct:extent": {"total": total, "limit": page.limit, "offset": page.offset},
        "dcat:dataset": [_dataset(entry, names.get(entry.provider, "")) for entry in entries],
    }


def _dataset(entry: Entry, provider_name: str) -> dict[str, Any]:
    spec = entry.spec
    return {
        "@id": f"urn:govshare:resource:{entry.code}",
        "@type": "dcat:Dataset",
        "dct:identifier": entry.code,
        "dct:title": {"@value": spec["name"], "@language": "zh"},
        "dct:description": {"@value": spec["abstract"], "@language": "zh"},
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": provider_name,
                          "dct:identifier": entry.provider},
        "dct:issued": entry.published_at.isoformat() if entry.published_at else None,
        "dct:modified": entry.updated_at.isoformat(),
        "dct:accrualPeriodicity": {"@id": _FREQUENCY + FREQUENCIES[spec["update_cycle"]]},
        "dcat:theme": spec["classification"]["top"],
        "dcat:keyword": [item["name"] for item in spec["items"]],
        "dct:accessRights": spec["open"].get("conditions") or "open",
        "dcat:distribution": [{
            "@type": "dcat:Distribution",
            "dct:format": spec["format"].get("sub_format") or spec["format"]["kind"],
        }, *_downloads(entry.code, EntrySpec.model_validate(spec).open_items())],
    }


def _downloads(code: str, open_items: list[str]) -> list[dict[str, Any]]:
    """The data itself, for anyone, from the gateway's open-data path (W2): one distribution
    per format, naming the items it holds. A relative IRI: the node's public address is the
    gateway's, which this service does not know."""
    if not open_items:
        return []
    return [{"@type": "dcat:Distribution", "dct:format": label, "dcat:mediaType": media_type,
             "dcat:downloadURL": {"@id": f"/open-data/entries/{code}/records?format={fmt}"},
             "dct:description": "数据项：" + "、".join(open_items)}
            for fmt, label, media_type in DOWNLOAD_FORMATS]
