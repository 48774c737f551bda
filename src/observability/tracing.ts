import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { TracingConfig } from '../config.ts';

export interface Tracing {
  /** Exports the spans still buffered, then stops tracing (instrumentations off, globals released). */
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry tracing for the process: a span per HTTP request (the app's middleware, from
 * the caller's `traceparent` when there is one), Prisma's spans for the database, and undici's for the
 * model server (Node's fetch), which also sends it `traceparent`. Spans go to `<endpoint>/v1/traces`
 * over OTLP/HTTP. Imported only when OTEL_EXPORTER_OTLP_ENDPOINT is set: without it, no SDK is loaded.
 */
export async function startTracing(config: TracingConfig): Promise<Tracing> {
  const [api, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, sdk, { OTLPTraceExporter }, resources, undici, prisma] =
    await Promise.all([
      import('@opentelemetry/api'),
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/core'),
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/instrumentation-undici'),
      import('@prisma/instrumentation'),
    ]);
  const exporter = new OTLPTraceExporter({
    url: `${config.endpoint.href.replace(/\/$/, '')}/v1/traces`,
    headers: config.headers,
  });
  const provider = new sdk.TracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': config.serviceName }),
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [new RedactCredentials(), new sdk.BatchSpanProcessor({ exporter })],
  });
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(provider);
  // Both hook in through diagnostics channels and Prisma's global, not by patching modules: the load
  // order of the app's imports does not matter.
  const instrumentations = [new undici.UndiciInstrumentation(), new prisma.PrismaInstrumentation()];
  return {
    shutdown: async () => {
      for (const instrumentation of instrumentations) instrumentation.disable();
      await provider.shutdown();
      api.trace.disable();
      api.propagation.disable();
      api.context.disable();
    },
  };
}

/**
 * The SSE routes accept the caller's credential as `?access_token=` (browsers' EventSource sends no
 * headers), and a request span records its full URL: the credential is blanked before any exporter
 * sees the span.
 */
class RedactCredentials implements SpanProcessor {
  onStart(span: Span, _context: Context): void {
    const url = span.attributes['url.full'];
    if (typeof url !== 'string' || !url.includes('access_token=')) return;
    span.setAttribute('url.full', url.replace(/([?&]access_token=)[^&#]*/g, '$1REDACTED'));
  }

  onEnd(_span: ReadableSpan): void {}

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
