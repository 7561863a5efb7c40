"""Structured (JSON) logs that carry the request id and the trace of the call being served."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from opentelemetry import trace

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# The first record of every process: where its log begins (`govshare up` says it otherwise).
CONFIGURED = "logging configured"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request and trace ids,
    extras."""

    _standard = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update(trace_ids())
        entry.update(
            {k: v for k, v in vars(record).items() if k not in self._standard}
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def trace_ids() -> dict[str, str]:
    """The current trace and span ids (W3C hex form); empty outside a span."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return {}
    return {"trace_id": format(span_context.trace_id, "032x"),
            "span_id": format(span_context.span_id, "016x")}


def configure_logging(level: str = "INFO", component: str | None = None) -> None:
    """Send every log record to stderr as JSON; idempotent."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for chatty in ("aiokafka", "httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(root.level, logging.WARNING))
    if component:
        logging.getLogger(component).info(CONFIGURED, extra={"component": component})
