"""What `govshare up` does with its processes' output.

Every line goes to `<home>/logs/<component>.log` as the process wrote it (JSON, one object per
line). At a terminal a person sees one readable line for each event worth their attention;
anywhere else the lines pass through unchanged, for whatever collects the logs to parse.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.text import Text

from shared.logs import CONFIGURED
from shared.web import access_log

# Said by columns of their own, or of use only to tools (the trace ids).
_NOT_KEY_FIELDS = {"time", "level", "logger", "message", "exception", "component", "trace_id",
                   "span_id"}
_LEVEL_STYLES = {"DEBUG": "dim", "INFO": "green", "WARNING": "yellow", "ERROR": "bold red",
                 "CRITICAL": "bold red"}
# Wide enough for the longest component name, so the levels line up.
_COMPONENT_WIDTH = len("authorization")
# The processes' lines reach one stream: whole lines, never two interleaved.
_passthrough_lock = threading.Lock()


def worth_showing(entry: dict[str, Any]) -> bool:
    """Whether a person at the terminal should see this log record (the files keep all).

    Warnings and errors always. Each call's access line is routine unless the call failed
    (5xx); so is each process's start, logging set up and schema checked (alembic), which
    the supervisor's "✓ catalog on …" already says.
    """
    level = logging.getLevelName(str(entry.get("level", "INFO")))
    if isinstance(level, int) and level >= logging.WARNING:
        return True
    logger = str(entry.get("logger", ""))
    if logger == access_log.name:
        status = entry.get("status")
        return isinstance(status, int) and status >= 500
    return logger.split(".")[0] != "alembic" and entry.get("message") != CONFIGURED


def readable(component: str, line: str, log_file: Path | None = None) -> Text | None:
    """The line a person at a terminal sees for one line of `component`'s output, or None
    when it is routine."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        entry = None
    if not isinstance(entry, dict):
        # Not one of our records: uvicorn's own warnings, a traceback before logging was set up.
        return Text.assemble(_time(None), " ", _component(component), " ", line)
    if not worth_showing(entry):
        return None
    level = str(entry.get("level", "INFO"))
    shown = Text.assemble(
        _time(entry.get("time")), " ", _component(component), " ",
        (f"{level:<7}", _LEVEL_STYLES.get(level, "")), " ", str(entry.get("message", "")))
    fields = [f"{key}={_value(value)}" for key, value in entry.items()
              if key not in _NOT_KEY_FIELDS]
    if fields:
        shown.append("  " + " ".join(fields), style="dim")
    exception = entry.get("exception")
    if isinstance(exception, str) and exception.strip():
        where = f" (the traceback is in {log_file})" if log_file else ""
        shown.append(f"\n    {exception.strip().splitlines()[-1]}{where}", style="red")
    return shown


def _time(iso: object) -> str:
    """HH:MM:SS in the machine's time zone, as a person reading along expects."""
    try:
        moment = datetime.fromisoformat(str(iso)) if iso else datetime.now().astimezone()
    except ValueError:
        return str(iso)
    return moment.astimezone().strftime("%H:%M:%S")


def _component(name: str) -> Text:
    return Text(f"{name:<{_COMPONENT_WIDTH}}", style="cyan")


def _value(value: object) -> str:
    if isinstance(value, str):
        return value if value and not any(c.isspace() for c in value) else json.dumps(
            value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=str)


def relay(component: str, output: IO[bytes], log_file: Path, console: Console,
          passthrough: IO[bytes]) -> threading.Thread:
    """Start copying a process's `output` to `log_file`, and to `console` when it is a
    terminal (readably) or to `passthrough` when it is not (unchanged); ends with the output."""
    def copy() -> None:
        with output, open(log_file, "ab") as file:
            for raw in iter(output.readline, b""):
                file.write(raw)
                file.flush()
                if console.is_terminal:
                    shown = readable(component, raw.decode("utf-8", "replace"), log_file)
                    if shown is not None:
                        console.print(shown)
                else:
                    with _passthrough_lock:
                        passthrough.write(raw)
                        passthrough.flush()

    thread = threading.Thread(target=copy, name=f"logs-{component}", daemon=True)
    thread.start()
    return thread
