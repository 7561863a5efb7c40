"""What `govshare up` shows a person of its processes' logs, and what it keeps in files."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from cli.process_logs import readable, relay, worth_showing
from shared.logs import CONFIGURED, JsonFormatter

WHEN = datetime(2026, 11, 28, 6, 30, 5, tzinfo=UTC)


def record(message: str, *, level: int = logging.INFO, logger: str = "shared.consumer",
           exc_info: Any = None, **extra: object) -> str:
    """A line exactly as a process of the node writes it."""
    entry = logging.LogRecord(logger, level, __file__, 1, message, None, exc_info)
    entry.created = WHEN.timestamp()
    entry.__dict__.update(extra)
    return JsonFormatter().format(entry) + "\n"


def access(status: int) -> str:
    return record(f"GET /api/catalog/search {status}", logger="govshare.access", status=status,
                  duration_ms=3.2)


def plain(text: Any) -> str:
    return text.plain if text is not None else ""


def test_each_call_answered_is_routine_unless_it_failed() -> None:
    assert readable("gateway", access(200)) is None
    assert readable("gateway", access(404)) is None
    assert "GET /api/catalog/search 502" in plain(readable("gateway", access(502)))


def test_a_process_starting_is_left_to_the_supervisor() -> None:
    assert readable("catalog", record(CONFIGURED, logger="catalog", component="catalog")) is None
    assert readable("catalog", record("Will assume transactional DDL.",
                                      logger="alembic.runtime.migration")) is None
    assert readable("catalog", record("Target database is not up to date.", level=logging.ERROR,
                                      logger="alembic.runtime.migration")) is not None


def test_a_warning_reads_as_time_component_level_message_and_its_fields() -> None:
    line = record("handler failed; retrying", level=logging.WARNING,
                  consumer="catalog-read-model", attempt=3, error="ValueError('坏数据')")

    shown = plain(readable("catalog", line))

    local_time = WHEN.astimezone().strftime("%H:%M:%S")
    assert shown.startswith(f"{local_time} catalog ")
    assert "WARNING handler failed; retrying" in shown
    assert "consumer=catalog-read-model attempt=3" in shown
    assert "坏数据" in shown and not shown.lstrip().startswith("{")


def test_other_records_at_info_are_shown() -> None:
    assert worth_showing(json.loads(record("linked to the parent 320000-internal")))


def test_an_error_shows_the_last_line_of_its_traceback_and_where_the_rest_is() -> None:
    try:
        raise ConnectionError("broker unreachable")
    except ConnectionError as error:
        line = record("outbox relay failed", level=logging.ERROR,
                      exc_info=(type(error), error, error.__traceback__))

    shown = plain(readable("exchange", line, Path(".govshare/logs/exchange.log")))

    assert "ERROR   outbox relay failed" in shown
    assert "ConnectionError: broker unreachable (the traceback is in .govshare/logs/exchange.log)" \
        in shown
    assert "Traceback" not in shown


def test_a_line_that_is_not_json_is_shown_as_it_is() -> None:
    shown = plain(readable("gateway", "ERROR:    [Errno 98] address already in use\n"))
    assert shown.endswith("gateway       ERROR:    [Errno 98] address already in use")


def lines() -> bytes:
    return (access(200) + record("consumer cycle failed", level=logging.WARNING)).encode()


def test_at_a_terminal_the_file_gets_every_line_and_the_person_only_what_matters(
    tmp_path: Path
) -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=200, color_system=None)
    passthrough = io.BytesIO()

    relay("catalog", io.BytesIO(lines()), tmp_path / "catalog.log", console,
          passthrough).join(5)

    assert (tmp_path / "catalog.log").read_bytes() == lines()
    assert "consumer cycle failed" in screen.getvalue()
    assert "GET /api/catalog/search" not in screen.getvalue()
    assert passthrough.getvalue() == b""


def test_elsewhere_the_lines_pass_through_unchanged(tmp_path: Path) -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=False)
    passthrough = io.BytesIO()

    relay("catalog", io.BytesIO(lines()), tmp_path / "catalog.log", console,
          passthrough).join(5)

    assert passthrough.getvalue() == lines() == (tmp_path / "catalog.log").read_bytes()
    assert screen.getvalue() == ""
