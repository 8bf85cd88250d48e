"""OpenTelemetry traces, configured by the standard ``OTEL_*`` variables; off when unset.

Set ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, or
``OTEL_TRACES_EXPORTER=console``) and each process sends spans over OTLP/HTTP (protobuf):
one per request (Starlette, continuing an incoming ``traceparent``), GraphQL's parse,
validate and operation (Strawberry), and one per SQL statement (asyncpg). Field-level
spans are left out: a nested read resolves thousands of fields. ``OTEL_SERVICE_NAME``
defaults to "tenantry"; ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` turn
traces off.
"""

import os
from typing import TYPE_CHECKING

from strawberry.extensions import SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtension

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from starlette.applications import Starlette


def tracing_enabled() -> bool:
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none" or os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(
        exporter
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


class OperationTracing(OpenTelemetryExtension):
    """Strawberry's spans for the operation, parsing and validation; none per field."""

    resolve = SchemaExtension.resolve  # type: ignore[assignment]


_provider: "TracerProvider | None" = None


def tracer_provider() -> "TracerProvider":
    """This process's provider (made once, and made the global one), exporting in batches."""
    global _provider  # noqa: PLW0603 - one provider per process, as OpenTelemetry wants
    if _provider is None:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SpanExporter,
        )

        exporter: SpanExporter = (
            ConsoleSpanExporter()
            if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console"
            else OTLPSpanExporter()
        )
        name = os.environ.get("OTEL_SERVICE_NAME") or "tenantry"
        _provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
        _provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(_provider)
        AsyncPGInstrumentor().instrument(tracer_provider=_provider)  # type: ignore[no-untyped-call]
    return _provider


def instrument(app: "Starlette") -> None:
    from opentelemetry.instrumentation.starlette import StarletteInstrumentor

    StarletteInstrumentor.instrument_app(app, tracer_provider=tracer_provider())


def flush() -> None:
    if _provider is not None:
        _provider.force_flush()
