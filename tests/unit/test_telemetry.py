"""Trace context in and out: HTTP and Kafka headers, outbox rows, outgoing calls."""

from __future__ import annotations

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from shared.telemetry import (
    context_from_headers,
    context_from_mapping,
    current_trace_context,
    http_client,
)

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"
tracer = TracerProvider().get_tracer("test")


def trace_id_of(parent: object) -> str:
    span_context = trace.get_current_span(parent).get_span_context()  # type: ignore[arg-type]
    return format(span_context.trace_id, "032x") if span_context.is_valid else ""


def test_a_trace_is_read_from_asgi_and_kafka_headers_alike() -> None:
    asgi = [(b"host", b"gateway"), (b"traceparent", TRACEPARENT.encode())]
    kafka = [("traceparent", TRACEPARENT.encode())]
    assert trace_id_of(context_from_headers(asgi)) == TRACE_ID
    assert trace_id_of(context_from_headers(kafka)) == TRACE_ID
    assert trace_id_of(context_from_headers([(b"host", b"gateway")])) == ""
    assert trace_id_of(context_from_headers([(b"traceparent", b"garbage")])) == ""


def test_the_trace_stored_with_an_outbox_row_continues_where_it_was_written() -> None:
    with tracer.start_as_current_span("request"):
        stored = current_trace_context()
    assert stored["traceparent"].split("-")[1] != "0" * 32
    assert trace_id_of(context_from_mapping(stored)) == stored["traceparent"].split("-")[1]
    assert current_trace_context() == {}  # outside any span there is nothing to pass on
    assert trace_id_of(context_from_mapping(None)) == ""


async def test_outgoing_calls_continue_the_current_trace() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async with http_client(transport=httpx.MockTransport(answer)) as client:
        with tracer.start_as_current_span("job") as span:
            await client.get("http://service/x")
        await client.get("http://service/y")
    expected = format(span.get_span_context().trace_id, "032x")
    assert seen[0].headers["traceparent"].split("-")[1] == expected
    assert "traceparent" not in seen[1].headers
