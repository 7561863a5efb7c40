"""The exchange's view of grants, run against fakes: every data access is decided from it
(A5), so a grant event applies only when newer than the grant kept, and a late or repeated
event cannot bring back a revoked grant."""

from __future__ import annotations

import pytest

from services.exchange import handlers as exchange
from shared.contracts.catalog import EntryUpdated
from shared.contracts.sharing import GRANT_EVENTS, GrantEvent, GrantRevoked
from shared.handlers import event_of
from tests.unit import events
from tests.unit.fakes import Conflict, RecordingOutbox, RecordingSession


@pytest.mark.parametrize("changed", GRANT_EVENTS)
async def test_every_grant_event_keeps_the_grant_as_its_snapshot_says(
    changed: type[GrantEvent]
) -> None:
    session, outbox = RecordingSession(), RecordingOutbox()
    grant = events.grant(status="suspended", version=4)
    await exchange.apply_grant(session, event_of(changed(grant=grant, actor="platform")),
                               outbox)
    [written] = session.written()
    assert session.tables() == ["grant_view"]
    assert {name: written[name] for name in ("id", "consumer", "entry_code", "status",
                                             "version")} == {
        "id": grant.id, "consumer": events.CONSUMER, "entry_code": events.CODE,
        "status": "suspended", "version": 4}
    # The whole snapshot: the access decision reads purpose, items, filter and term from it.
    assert written["snapshot"] == grant.model_dump(mode="json")
    assert outbox.events == []


async def test_a_grant_event_overwrites_only_an_older_version_of_the_grant() -> None:
    session = RecordingSession()
    revoked = events.grant(status="revoked", version=3)
    await exchange.apply_grant(session, event_of(GrantRevoked(grant=revoked, actor="liuyang",
                                                              reason="项目已结束")),
                               RecordingOutbox())
    # A late 'issued' (version 1) after this revocation meets version 3 and changes nothing.
    assert session.conflicts() == [Conflict(
        frozenset({"id", "consumer", "entry_code", "status", "version", "snapshot"}),
        where="grant_view.version < 3")]


THEME = {"top": "theme", "item": "05", "category": "001"}


@pytest.mark.parametrize(("changes", "open_items"), [
    ({"open": {"is_open": True}, "classification": THEME}, ["XM", "GMSFHM", "CSRQ"]),
    ({"open": {"is_open": True}, "classification": THEME, "status": "withdrawn"}, []),
    ({"open": {"is_open": False}, "classification": THEME}, []),
    ({"open": {"is_open": True}}, []),  # the population base resource is never published
])
async def test_what_the_public_may_download_is_kept_with_the_entry(
    changes: dict[str, object], open_items: list[str]
) -> None:
    session = RecordingSession()
    entry = events.entry(**changes)
    await exchange.apply_entry(session, event_of(EntryUpdated(entry=entry, changed_by="wangfang")),
                               RecordingOutbox())
    [written] = session.written()
    assert written["open_items"] == open_items
