"""The search thesaurus (C9): everyday words and common names that lead to the official terms
(社保 → 社会保险, 户口 → 户籍), kept by the competent authority, every change a new version.

It is applied to the query, never to the index: a search for 社保 looks for any term of its
group, so an edit counts from the next search on and no entry is indexed again.

A group is a preferred term and its synonyms (`terms`), all equivalent: asking for any of
them finds texts holding any of them. `also_finds` are looked for one way only: narrower
kinds (社会保险 also finds 养老保险, but 养老保险 does not find every social insurance) or
the records a document comes from (户口本 also finds 户籍).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.exceptions import ThesaurusTermTwice, ThesaurusVersionStale
from services.catalog.models import ThesaurusVersion
from services.catalog.search_text import conjunction, query_words
from shared import clock


@dataclass(frozen=True)
class QueryPart:
    """A word or term of the query (`asked`) and every term a match may hold for it."""

    asked: str
    terms: tuple[str, ...]

    def alternatives(self, *, alone: bool) -> list[list[str]]:
        """The lexemes of each of its terms, all of which a match holds (a term that holds
        another's, 结婚登记 beside 结婚, adds nothing and is left out)."""
        found = {frozenset(lexemes) for term in self.terms
                 if (lexemes := conjunction(term, alone=alone))}
        return sorted(sorted(lexemes) for lexemes in found
                      if not any(other < lexemes for other in found))


@dataclass(frozen=True)
class Thesaurus:
    """One version of the thesaurus, ready to interpret queries."""

    version: int
    expansions: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, version: int, groups: Iterable[dict[str, Any]]) -> Thesaurus:
        expansions: dict[str, tuple[str, ...]] = {}
        for group in groups:
            ring = [group["preferred"], *group.get("terms", [])]
            searched = tuple(dict.fromkeys([*ring, *group.get("also_finds", [])]))
            for term in ring:
                expansions[term.lower()] = searched
        return cls(version, expansions)

    def interpret(self, text: str) -> list[QueryPart]:
        """The query's parts: the thesaurus's terms it holds (the longest first, left to
        right) and jieba's words of the rest; lone characters only when they are all."""
        text, parts, rest, start = text.strip().lower(), [], "", 0
        while start < len(text):
            term = self._term_at(text, start)
            if term is None:
                rest, start = rest + text[start], start + 1
                continue
            parts += [QueryPart(word, (word,)) for word in query_words(rest)]
            parts.append(QueryPart(term, self.expansions[term]))
            rest, start = "", start + len(term)
        parts += [QueryPart(word, (word,)) for word in query_words(rest)]
        if len(parts) > 1:
            parts = [part for part in parts if len(part.asked) > 1]
        return parts

    def _term_at(self, text: str, start: int) -> str | None:
        longest = min(len(text) - start, TERM_MAX_LENGTH)
        for end in range(start + longest, start + 1, -1):
            if text[start:end] in self.expansions:
                return text[start:end]
        return None


TERM_MAX_LENGTH = 30


@dataclass(frozen=True)
class TextQuery:
    """A query as PostgreSQL reads it: what a match must hold, and how to rank matches."""

    match: str  # every part, each by one of its terms
    rank: str  # any of their lexemes: ts_rank of an AND weighs how close its lexemes stand,
    # and the index's positions are not the text's (its terms are sorted), so rank by which
    # lexemes an entry holds and where (name, classification, items, abstract) only


def text_query(parts: Sequence[QueryPart]) -> TextQuery | None:
    """The tsqueries of a query's parts; None when nothing of it can be looked for."""
    alone = len(parts) == 1
    groups = [alternatives for part in parts if (alternatives := part.alternatives(alone=alone))]
    if not groups:
        return None
    match = " & ".join("(" + " | ".join(_all_of(lexemes) for lexemes in alternatives) + ")"
                       for alternatives in groups)
    lexemes = {lexeme for alternatives in groups for term in alternatives for lexeme in term}
    return TextQuery(match, " | ".join(sorted(lexemes)))


def _all_of(lexemes: list[str]) -> str:
    return lexemes[0] if len(lexemes) == 1 else "(" + " & ".join(lexemes) + ")"


# Versions never change once written: each process compiles one once.
_compiled: dict[tuple[int, datetime], Thesaurus] = {}


async def current(session: AsyncSession) -> Thesaurus:
    """The thesaurus in force: its latest version (an empty one before any)."""
    latest = (await session.execute(
        select(ThesaurusVersion.version, ThesaurusVersion.changed_at)
        .order_by(ThesaurusVersion.version.desc()).limit(1))).first()
    if latest is None:
        return Thesaurus(0)
    key = (latest.version, latest.changed_at)
    if key not in _compiled:
        groups = await session.scalar(select(ThesaurusVersion.groups).where(
            ThesaurusVersion.version == latest.version))
        if len(_compiled) >= 8:
            _compiled.clear()
        _compiled[key] = Thesaurus.of(latest.version, groups or [])
    return _compiled[key]


async def latest_version(session: AsyncSession) -> ThesaurusVersion | None:
    return await session.scalar(select(ThesaurusVersion)
                                .order_by(ThesaurusVersion.version.desc()).limit(1))


async def replace(session: AsyncSession, *, groups: list[dict[str, Any]], replaces: int,
                  reason: str, actor: str) -> ThesaurusVersion:
    """Put `groups` in force as the next version, if `replaces` is still the latest one (two
    editors at once: the second is told to reload rather than undo the first's edit)."""
    check_rings(groups)
    latest = await latest_version(session)
    in_force = latest.version if latest else 0
    if replaces != in_force:
        raise ThesaurusVersionStale(
            f"Version {replaces} is no longer the latest; version {in_force} is in force.",
            field="replaces", current_version=in_force)
    version = ThesaurusVersion(version=in_force + 1, groups=groups, changed_by=actor,
                               changed_at=clock.now(), reason=reason)
    session.add(version)
    await session.flush()  # two editors of the same version: the second's insert conflicts
    return version


def check_rings(groups: Sequence[dict[str, Any]]) -> None:
    """A term is the preferred term or a synonym of one group only, so that what it finds
    does not depend on which group is read first."""
    owner: dict[str, int] = {}
    for index, group in enumerate(groups):
        for term in [group["preferred"], *group.get("terms", [])]:
            key = term.lower()
            if owner.setdefault(key, index) != index:
                raise ThesaurusTermTwice(
                    f"{term} is in group {owner[key]} already; a term belongs to one group "
                    f"(put it in also_finds to have a group find it as well).",
                    field=f"groups.{index}", term=term)
