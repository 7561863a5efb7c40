"""Recent search answers, kept while the catalog has not changed (C9).

Departments search the same words all day, and the catalog changes far less often than it
is searched: an answer stays true until the next change of a published entry, of its
provider, of its data's activity or flags, or of the thesaurus. Each such change, at its
commit, draws a new number from the `search_generation` sequence (deferred triggers, see
migration 0012), and a kept answer is used only under the number it was computed at, so a
change shows at the next search. A search that runs in the very instant of a commit can read
the new number before the change itself; such an answer is kept `seconds` at most, as a
search engine refreshes its view about once a second.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


class SearchCache:
    """Answers (as sent) of at most `max_bytes` in all, each for at most `seconds`, the least
    recently used going first; none at all when `seconds` is 0."""

    def __init__(self, *, max_bytes: int, seconds: float) -> None:
        # Bounded in bytes, not answers: a page of 500 entries weighs a thousand of 1, and
        # any caller chooses the page's size and offset.
        self.max_bytes, self.seconds = max_bytes, seconds
        self._kept: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0

    def get(self, key: Hashable) -> bytes | None:
        kept = self._kept.get(key)
        if kept is None:
            return None
        if time.monotonic() - kept[0] > self.seconds:
            self._drop(key)
            return None
        self._kept.move_to_end(key)
        return kept[1]

    def put(self, key: Hashable, answer: bytes) -> None:
        if self.seconds <= 0 or len(answer) > self.max_bytes:
            return
        if key in self._kept:
            self._drop(key)
        self._kept[key] = (time.monotonic(), answer)
        self._bytes += len(answer)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._kept)))

    def _drop(self, key: Hashable) -> None:
        self._bytes -= len(self._kept.pop(key)[1])


async def generation(session: AsyncSession) -> int:
    """How many changes search has seen (0 before the first)."""
    return int(await session.scalar(text(
        "select case when is_called then last_value else 0 end from search_generation")) or 0)
