"""The search thesaurus (C9): read by anyone who searches, edited by the competent authority
(the node admin), each edit a new version in force from the next search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import select

from services.catalog import thesaurus
from services.catalog.deps import SessionDep
from services.catalog.exceptions import ThesaurusVersionNotFound
from services.catalog.models import ThesaurusVersion
from services.catalog.schemas import (
    QueryInterpretation,
    QueryPartPublic,
    ThesaurusPublic,
    ThesaurusReplace,
    ThesaurusVersionListed,
)
from shared.auth import CurrentPrincipal, require_role
from shared.contracts import Role
from shared.pagination import Page, PageDep, fetch_page

router = APIRouter(prefix="/thesaurus", tags=["search"])


@router.get("", response_model=ThesaurusPublic,
            summary="The search thesaurus in force: everyday words leading to official terms")
async def thesaurus_in_force(principal: CurrentPrincipal,
                             session: SessionDep) -> ThesaurusVersion:
    latest = await thesaurus.latest_version(session)
    if latest is None:  # only before the node's migrations ran
        raise ThesaurusVersionNotFound("The node has no thesaurus yet.")
    return latest


@router.put("", response_model=ThesaurusPublic,
            dependencies=[Depends(require_role(Role.node_admin))],
            summary="Put a new version of the thesaurus in force (competent authority)")
async def replace_thesaurus(body: ThesaurusReplace, principal: CurrentPrincipal,
                            session: SessionDep) -> ThesaurusVersion:
    return await thesaurus.replace(
        session, groups=[group.model_dump() for group in body.groups], replaces=body.replaces,
        reason=body.reason, actor=principal.sub)


@router.get("/versions", response_model=Page[ThesaurusVersionListed],
            summary="Every version of the thesaurus, latest first: who, when and why")
async def thesaurus_versions(principal: CurrentPrincipal, session: SessionDep,
                             page: PageDep) -> dict[str, object]:
    query = select(ThesaurusVersion).order_by(ThesaurusVersion.version.desc())
    items, total = await fetch_page(session, query, page)
    return page.wrap(items, total)


@router.get("/versions/{version}", response_model=ThesaurusPublic,
            summary="One version of the thesaurus, whole")
async def thesaurus_version(version: Annotated[int, Path(ge=1, le=2**31 - 1)],
                            principal: CurrentPrincipal, session: SessionDep) -> ThesaurusVersion:
    found = await session.get(ThesaurusVersion, version)
    if found is None:
        raise ThesaurusVersionNotFound(f"The thesaurus has no version {version}.")
    return found


@router.get("/interpretation", response_model=QueryInterpretation,
            summary="How a search reads a query: its words and the terms looked for each")
async def interpret_query(
    q: Annotated[str, Query(min_length=1, max_length=100, examples=["南京 社保"])],
    principal: CurrentPrincipal, session: SessionDep,
) -> QueryInterpretation:
    in_force = await thesaurus.current(session)
    return interpretation_of(in_force, in_force.interpret(q))


def interpretation_of(in_force: thesaurus.Thesaurus,
                      parts: list[thesaurus.QueryPart]) -> QueryInterpretation:
    return QueryInterpretation(thesaurus_version=in_force.version, parts=[
        QueryPartPublic.model_validate(part) for part in parts])
