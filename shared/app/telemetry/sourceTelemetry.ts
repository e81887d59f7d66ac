import {
  metrics,
  trace,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Attributes,
  type Counter,
  type Gauge,
  type Histogram,
  type SpanContext,
} from '@opentelemetry/api';
import type { SourceKind, TrackingRecord } from '../tracking/trackingRecord';

/** The meter and tracer name every instrument of the app is created under. */
export const TELEMETRY_SCOPE = 'kusto-ingest-functions';

/** Attribute names, as the workbook and alert queries read them (infra/modules/monitoring.bicep). */
export const ATTR = {
  kind: 'kif.source.kind',
  database: 'kif.database',
  table: 'kif.table',
  sourceId: 'kif.source.id',
  errorCode: 'kif.error.code',
  permanent: 'kif.error.permanent',
  reason: 'kif.reason',
  status: 'kif.status',
  timeToFinal: 'kif.time_to_final_s',
} as const;

/** Metric names (OpenTelemetry style: dotted, unit in the instrument, not the name). */
export const METRIC = {
  accepted: 'kif.sources.accepted',
  queued: 'kif.sources.queued',
  succeeded: 'kif.sources.succeeded',
  failed: 'kif.sources.failed',
  requeued: 'kif.sources.requeued',
  retried: 'kif.sources.retried',
  stuck: 'kif.sources.stuck',
  rejected: 'kif.sources.rejected',
  quarantined: 'kif.sources.quarantined',
  duplicates: 'kif.sources.duplicates',
  open: 'kif.sources.open',
  oldestOpenAge: 'kif.sources.oldest_open_age',
  poison: 'kif.poison.messages',
  queueLatency: 'kif.source.time_to_queued',
  finalLatency: 'kif.source.time_to_final',
  bytes: 'kif.upload.bytes',
} as const;

interface Instruments {
  readonly counters: Record<
    | 'accepted'
    | 'queued'
    | 'succeeded'
    | 'failed'
    | 'requeued'
    | 'retried'
    | 'stuck'
    | 'rejected'
    | 'quarantined'
    | 'duplicates'
    | 'bytes',
    Counter
  >;
  readonly open: Gauge;
  readonly oldestOpenAge: Gauge;
  readonly poison: Gauge;
  readonly queueLatency: Histogram;
  readonly finalLatency: Histogram;
}

/** A source's trace, begun before its row is written; `accepted` or `duplicate` once the write tells. */
export interface PendingAccept {
  readonly traceParent: string | undefined;
  accepted(): void;
  duplicate(): void;
}

/** A source's table and kind, the dimensions of every source metric. */
export interface SourceDimensions {
  readonly kind: SourceKind;
  readonly database: string;
  readonly table: string;
}

function dimensions(source: SourceDimensions): Attributes {
  return { [ATTR.kind]: source.kind, [ATTR.database]: source.database, [ATTR.table]: source.table };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The W3C traceparent of a span context, to keep on the source's tracking row. */
export function traceParentOf(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.traceFlags.toString(16).padStart(2, '0')}`;
}

export function spanContextOf(traceParent: string | undefined): SpanContext | undefined {
  const m = traceParent ? TRACEPARENT.exec(traceParent) : null;
  if (!m) return undefined;
  return {
    traceId: m[1] ?? '',
    spanId: m[2] ?? '',
    traceFlags: parseInt(m[3] ?? '0', 16) & 1 ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  };
}

/**
 * What the app measures about its sources, through the OpenTelemetry API: counts by kind, table, error
 * code and permanence, the time from accepted to queued and to the final status, bytes uploaded, and the
 * open sources the sweep sees. One trace per source: the trigger's `source accepted` span (its traceparent
 * kept on the tracking row), and the sweep's `source final` span linked to it.
 *
 * Without an SDK registered (startTelemetry.ts) every call is a no-op of the API. Instruments are made
 * on first use, so that an SDK registered after this object was built still receives them.
 */
export class SourceTelemetry {
  private instruments: Instruments | undefined;

  private get i(): Instruments {
    if (this.instruments) return this.instruments;
    const meter = metrics.getMeter(TELEMETRY_SCOPE);
    const counter = (name: string, description: string, unit = '{source}') =>
      meter.createCounter(name, { description, unit });
    this.instruments = {
      counters: {
        accepted: counter(METRIC.accepted, 'Sources taken on, by kind (landing, http, blob, backfill)'),
        queued: counter(METRIC.queued, 'Sources queued for ingestion'),
        succeeded: counter(METRIC.succeeded, 'Sources the service ingested'),
        failed: counter(METRIC.failed, 'Sources that ended in failure, by error code and permanence'),
        requeued: counter(METRIC.requeued, 'Failed sources queued again by the sweep'),
        retried: counter(METRIC.retried, "Sources queued again by an operator's retry"),
        stuck: counter(METRIC.stuck, 'Sources reported pending past the stale limit'),
        rejected: counter(METRIC.rejected, 'Sources refused before anything was queued, by reason'),
        quarantined: counter(METRIC.quarantined, 'Landing blobs moved to the quarantine container'),
        duplicates: counter(METRIC.duplicates, 'Deliveries of a source already taken on, absorbed'),
        bytes: counter(METRIC.bytes, 'Bytes of data queued for ingestion', 'By'),
      },
      open: meter.createGauge(METRIC.open, {
        description: 'Open sources at the last sweep',
        unit: '{source}',
      }),
      oldestOpenAge: meter.createGauge(METRIC.oldestOpenAge, {
        description: 'Age of the oldest open source at the last sweep',
        unit: 's',
      }),
      poison: meter.createGauge(METRIC.poison, {
        description: 'Messages in the landing poison queue at the last sweep',
        unit: '{message}',
      }),
      queueLatency: meter.createHistogram(METRIC.queueLatency, {
        description: 'Time from a source accepted to it queued',
        unit: 's',
      }),
      finalLatency: meter.createHistogram(METRIC.finalLatency, {
        description: 'Time from a source accepted to its final status',
        unit: 's',
      }),
    };
    return this.instruments;
  }

  // The API's proxy: it finds the SDK's tracer once one is registered, so it is safe to keep from the start.
  private readonly tracer = trace.getTracer(TELEMETRY_SCOPE);

  /**
   * Starts a source's trace before its row is written (the row keeps the traceparent). The span is
   * exported, and the source counted, only if the source turns out new; a delivery of a source already
   * taken on counts as a duplicate and its span is dropped.
   */
  startAccept(source: SourceDimensions & { readonly sourceId: string }): PendingAccept {
    const span = this.tracer.startSpan('source accepted', {
      kind: SpanKind.PRODUCER,
      attributes: { ...dimensions(source), [ATTR.sourceId]: source.sourceId },
    });
    const context = span.spanContext();
    return {
      traceParent: trace.isSpanContextValid(context) ? traceParentOf(context) : undefined,
      accepted: () => {
        this.i.counters.accepted.add(1, dimensions(source));
        span.end();
      },
      duplicate: () => this.i.counters.duplicates.add(1, dimensions(source)),
    };
  }

  queued(record: TrackingRecord, now: number): void {
    this.i.counters.queued.add(1, dimensions(record));
    if (record.rawDataSize !== undefined) this.i.counters.bytes.add(record.rawDataSize, dimensions(record));
    // A re-queue or retry is not the source's first queueing: its latency would measure the failure.
    if (record.requeueCount === 0)
      this.i.queueLatency.record((now - record.createdOn.getTime()) / 1000, dimensions(record));
  }

  succeeded(record: TrackingRecord, now: number): void {
    this.i.counters.succeeded.add(1, dimensions(record));
    this.final(record, now, 'Succeeded');
  }

  failed(
    record: TrackingRecord,
    failure: { errorCode?: string | undefined; failureStatus?: string | undefined; finalStatus: string },
    now: number,
  ): void {
    const attributes = {
      ...dimensions(record),
      [ATTR.errorCode]: failure.errorCode ?? 'none',
      [ATTR.permanent]: failure.failureStatus !== 'Transient',
    };
    this.i.counters.failed.add(1, attributes);
    this.final(record, now, failure.finalStatus, attributes, failure.errorCode);
  }

  requeued(record: TrackingRecord, errorCode: string | undefined): void {
    this.i.counters.requeued.add(1, { ...dimensions(record), [ATTR.errorCode]: errorCode ?? 'none' });
  }

  retried(record: TrackingRecord): void {
    this.i.counters.retried.add(1, dimensions(record));
  }

  stuck(record: TrackingRecord): void {
    this.i.counters.stuck.add(1, dimensions(record));
  }

  rejected(source: SourceDimensions, reason: string): void {
    this.i.counters.rejected.add(1, { ...dimensions(source), [ATTR.reason]: reason });
  }

  quarantined(source: SourceDimensions): void {
    this.i.counters.quarantined.add(1, dimensions(source));
  }

  /** What the sweep saw: the open sources, the oldest one's age, the poison queue's depth. */
  swept(open: number, oldestOpenAgeSeconds: number, poisonMessages: number): void {
    this.i.open.record(open);
    this.i.oldestOpenAge.record(oldestOpenAgeSeconds);
    this.i.poison.record(poisonMessages);
  }

  /** The source's final status: its latency, and a span linked to the trigger's. */
  private final(
    record: TrackingRecord,
    now: number,
    status: string,
    attributes: Attributes = dimensions(record),
    errorCode?: string,
  ): void {
    const seconds = (now - record.createdOn.getTime()) / 1000;
    this.i.finalLatency.record(seconds, { ...attributes, [ATTR.status]: status });
    const accepted = spanContextOf(record.traceParent);
    const span = this.tracer.startSpan('source final', {
      kind: SpanKind.CONSUMER,
      // The latency rides on the span too: Application Insights keeps no histogram's distribution, and the
      // workbook's percentiles come from the spans.
      attributes: {
        ...attributes,
        [ATTR.sourceId]: record.sourceId,
        [ATTR.status]: status,
        [ATTR.timeToFinal]: seconds,
      },
      links: accepted ? [{ context: accepted }] : [],
    });
    if (status !== 'Succeeded') span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode ?? status });
    span.end();
  }
}
