// Prometheus metrics for one process (each web/worker instance is scraped on its own).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  callbacksReceived: Counter<'channel'>;
  callbacksRejected: Counter<'channel' | 'reason'>;
  callbacksDuplicate: Counter<'channel'>;
  ingestSeconds: Histogram<'channel'>;
  jobsProcessed: Counter<'queue'>;
  jobsFailed: Counter<'queue' | 'final'>;
  eventLag: Gauge;
  eventsUnprocessed: Gauge;
}

/** `lag` is asked at scrape time for the oldest unprocessed event's age and the backlog size. */
export function createMetrics(lag: () => Promise<{ oldestAgeSeconds: number; unprocessed: number }>): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'touchpoint_' });
  let lastLag: Promise<{ oldestAgeSeconds: number; unprocessed: number }> | null = null;
  const readLag = () => (lastLag ??= lag().finally(() => setTimeout(() => (lastLag = null), 0)));
  return {
    registry,
    callbacksReceived: new Counter({ name: 'touchpoint_callbacks_received_total', help: 'Callbacks accepted and stored', labelNames: ['channel'], registers: [registry] }),
    callbacksRejected: new Counter({ name: 'touchpoint_callbacks_rejected_total', help: 'Callbacks refused, by reason', labelNames: ['channel', 'reason'], registers: [registry] }),
    callbacksDuplicate: new Counter({ name: 'touchpoint_callbacks_duplicate_total', help: 'Repeat deliveries answered without storing anything new', labelNames: ['channel'], registers: [registry] }),
    ingestSeconds: new Histogram({
      name: 'touchpoint_callback_ingest_seconds',
      help: 'Time from request to acknowledgement',
      labelNames: ['channel'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    }),
    jobsProcessed: new Counter({ name: 'touchpoint_jobs_processed_total', help: 'Jobs finished', labelNames: ['queue'], registers: [registry] }),
    jobsFailed: new Counter({ name: 'touchpoint_jobs_failed_total', help: 'Job attempts that failed (final=true when no retry is left)', labelNames: ['queue', 'final'], registers: [registry] }),
    eventLag: new Gauge({
      name: 'touchpoint_inbound_event_lag_seconds',
      help: 'Age of the oldest received but unprocessed inbound event',
      registers: [registry],
      async collect() {
        this.set((await readLag()).oldestAgeSeconds);
      },
    }),
    eventsUnprocessed: new Gauge({
      name: 'touchpoint_inbound_events_unprocessed',
      help: 'Inbound events received but not yet processed',
      registers: [registry],
      async collect() {
        this.set((await readLag()).unprocessed);
      },
    }),
  };
}
