"""Traces: one OpenTelemetry trace follows a call from the gateway through the services and
across Kafka (W3C trace context in HTTP headers and in event headers).

Every process makes spans, so its logs carry trace ids even when nothing collects them; it
exports them (OTLP over HTTP) only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. The standard
`OTEL_BSP_*` variables tune the export batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpx
from opentelemetry import context, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.logs import request_id_var
from shared.settings import ComponentSettings

tracer = trace.get_tracer("govshare")
_propagator = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None

Headers = Iterable[tuple[bytes | str, bytes | None]]
KafkaHeaders = Sequence[tuple[str, bytes]]


def configure_tracing(settings: ComponentSettings, component: str) -> None:
    """Make this process's spans, naming it `govshare-<component>`; export them when an
    OTLP endpoint is set. Once per process (later calls change nothing)."""
    global _provider
    if _provider is not None:
        return
    resource = Resource.create({
        "service.name": f"govshare-{component}", "service.namespace": "govshare",
        "service.version": _version(), "govshare.node.id": settings.node_id})
    _provider = TracerProvider(
        resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)))
    if settings.otlp_endpoint:
        # Imported here: a process that exports nothing never loads the exporter's stack.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
        _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(_provider)


def shutdown_tracing() -> None:
    """Export what is still buffered (at the end of the process)."""
    if _provider is not None:
        _provider.force_flush(timeout_millis=5_000)


def current_trace_context() -> dict[str, str]:
    """The W3C headers (`traceparent`, `tracestate`) that continue the current trace."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


class _HeaderList(Getter[Headers]):
    """Reads ASGI (bytes) and Kafka (str name, bytes value) header lists alike."""

    def get(self, carrier: Headers, key: str) -> list[str] | None:
        found = [_text(value) for name, value in carrier
                 if value is not None and _text(name).lower() == key]
        return found or None

    def keys(self, carrier: Headers) -> list[str]:
        return [_text(name) for name, _ in carrier]


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


_headers = _HeaderList()


def context_from_headers(headers: Headers) -> context.Context:
    """The trace a caller (HTTP) or a producer (Kafka) passed on in its headers; an empty
    context (a new trace) when there is none."""
    headers = list(headers)
    if not any(name in _TRACEPARENT for name, _ in headers):
        return _NO_TRACE  # most outside callers: skip the parsing (a third of the cost)
    return _propagator.extract(headers, getter=_headers)


_TRACEPARENT = (b"traceparent", "traceparent")
_NO_TRACE = context.Context()


def context_from_mapping(carrier: Mapping[str, str] | None) -> context.Context:
    """The trace stored with an outbox row (see `current_trace_context`)."""
    return _propagator.extract(dict(carrier or {}))


async def _continue_trace(request: httpx.Request) -> None:
    for name, value in current_trace_context().items():
        request.headers[name] = value
    request_id = request_id_var.get()
    if request_id and "x-request-id" not in request.headers:
        request.headers["x-request-id"] = request_id


def http_client(**options: Any) -> httpx.AsyncClient:
    """An HTTP client whose calls continue the current trace and carry the request id."""
    return httpx.AsyncClient(event_hooks={"request": [_continue_trace]}, **options)


def _version() -> str:
    try:
        return version("govshare")
    except PackageNotFoundError:
        return "unknown"
