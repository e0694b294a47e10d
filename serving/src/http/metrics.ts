import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ModelSet } from '../model/models.ts';
import type { FailureReason, ModelRegistry, RolloutStatus } from '../model/types.ts';
import { FastHistogram, type HistogramSeries } from './histogram.ts';

// Prometheus metrics, named after Triton's (nv_inference_*) where Triton has
// one, cd4ml_* otherwise. Own Registry: several servers can live in one process.

export type { FailureReason };

export interface ServingMetrics {
  registry: Registry;
  success(model: string, version: string, rows: number, batchSize: number, requestMs: number, queueMs: number): void;
  failure(model: string, version: string, reason: FailureReason): void;
  /** One request's duration, by route pattern (or gRPC method), method and status code, and protocol (http, grpc). */
  request(route: string, method: string, code: number | string, seconds: number, protocol?: Protocol): void;
}

export type Protocol = 'http' | 'grpc';

export function createMetrics(served: ModelRegistry | ModelSet, opts: { defaultMetrics?: boolean } = {}): ServingMetrics {
  const models = ModelSet.of(served);
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  interface Pending {
    model: string; version: string; success: number; inferences: number; execs: number; requestUs: number; queueUs: number;
    queue: HistogramSeries; batch: HistogramSeries;
  }
  const pending = new Map<string, Pending>();
  /** Moves the per-request sums into the counters; every counter below runs it when scraped. */
  function flushCounts(): void {
    for (const c of pending.values()) {
      if (c.success === 0) continue;
      const l = { model: c.model, version: c.version };
      success.inc(l, c.success);
      inferenceCount.inc(l, c.inferences);
      execCount.inc(l, c.execs);
      requestDurationUs.inc(l, c.requestUs);
      queueDurationUs.inc(l, c.queueUs);
      c.success = c.inferences = c.execs = c.requestUs = c.queueUs = 0;
    }
  }

  const success = new Counter({
    name: 'nv_inference_request_success',
    help: 'Successful inference requests',
    labelNames: ['model', 'version'] as const,
    registers: [registry],
    collect: flushCounts,
  });
  const failure = new Counter({
    name: 'nv_inference_request_failure',
    help: 'Failed inference requests, by reason (INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, BACKEND)',
    labelNames: ['model', 'version', 'reason'] as const,
    registers: [registry],
  });
  const inferenceCount = new Counter({
    name: 'nv_inference_count',
    help: 'Inferences performed (a request with a batch of n rows counts n)',
    labelNames: ['model', 'version'] as const,
    registers: [registry],
    collect: flushCounts,
  });
  const execCount = new Counter({
    name: 'nv_inference_exec_count',
    help: 'Model executions (each request adds its share rows/batchSize of the batch it ran in)',
    labelNames: ['model', 'version'] as const,
    registers: [registry],
    collect: flushCounts,
  });
  const requestDurationUs = new Counter({
    name: 'nv_inference_request_duration_us',
    help: 'Cumulative inference request duration in microseconds (handler time)',
    labelNames: ['model', 'version'] as const,
    registers: [registry],
    collect: flushCounts,
  });
  const queueDurationUs = new Counter({
    name: 'nv_inference_queue_duration_us',
    help: 'Cumulative time requests waited for a batch and a free session, in microseconds',
    labelNames: ['model', 'version'] as const,
    registers: [registry],
    collect: flushCounts,
  });
  const requestDuration = new FastHistogram(
    'cd4ml_request_duration_seconds', 'Request duration by route (HTTP) or method (gRPC), with the protocol', ['route', 'method', 'code', 'protocol'] as const,
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registry,
  );
  const queueDuration = new FastHistogram(
    'cd4ml_queue_duration_seconds', 'Time an inference request waited for a batch and a free session', ['model', 'version'] as const,
    [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registry,
  );
  const batchSize = new FastHistogram(
    'cd4ml_batch_size', 'Rows in the batch each inference request ran in', ['model', 'version'] as const,
    [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], registry,
  );

  // Every series about a model carries its release in `version` (Triton's label name for it).
  new Gauge({
    name: 'cd4ml_model_ready',
    help: '1 while the server reports ready; version is the live release ("" before one)',
    labelNames: ['model', 'version'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const m of models.all()) this.set({ model: m.name, version: m.current()?.version ?? '' }, m.ready() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'cd4ml_release_info',
    help: 'Releases loaded now (value 1), by role: live, candidate (a rollout), draining (finishing requests)',
    labelNames: ['model', 'version', 'role'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const m of models.all()) {
        const live = m.current()?.version;
        const candidate = m.rollout?.()?.candidate;
        for (const v of m.versions()) {
          const role = v.version === live ? 'live' : v.version === candidate ? 'candidate' : 'draining';
          this.set({ model: m.name, version: v.version, role }, 1);
        }
      }
    },
  });
  new Gauge({
    name: 'cd4ml_model_version_info',
    help: 'The release being served (value 1)',
    labelNames: ['model', 'version'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const m of models.all()) {
        const current = m.current();
        if (current) this.set({ model: m.name, version: current.version }, 1);
      }
    },
  });
  // The rollouts as this replica sees them, with the releases as labels.
  const rollouts = (): [string, RolloutStatus][] =>
    models.all().flatMap((m) => { const r = m.rollout?.(); return r ? [[m.name, r] as [string, RolloutStatus]] : []; });
  new Gauge({
    name: 'cd4ml_rollout_share',
    help: 'Share of requests (0..1) the candidate release takes now (0 in shadow mode, which takes a copy)',
    labelNames: ['model', 'version', 'mode'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [m, r] of rollouts()) this.set({ model: m, version: r.candidate, mode: r.mode }, r.share);
    },
  });
  new Gauge({
    name: 'cd4ml_rollout_paused',
    help: '1 while rollout decisions wait because the store cannot be read or written (live keeps serving)',
    labelNames: ['model', 'version'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [m, r] of rollouts()) this.set({ model: m, version: r.candidate }, r.paused ? 1 : 0);
    },
  });
  new Gauge({
    name: 'cd4ml_rollout_figure',
    help: "The candidate's figures over the current step (errorRate, p99Ms, outputShift, agreement, requests)",
    labelNames: ['model', 'version', 'figure'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [m, r] of rollouts()) {
        if (!r.figures) continue;
        for (const k of ['requests', 'errorRate', 'p99Ms', 'outputShift', 'agreement'] as const) {
          const v = r.figures[k];
          if (v !== null) this.set({ model: m, version: r.candidate, figure: k }, v);
        }
      }
    },
  });
  const seenRefusals = new Set<string>();
  const refused = new Counter({
    name: 'cd4ml_release_refused_total',
    help: 'Releases the server refused to serve (sha256 mismatch, failed smoke test, ...)',
    labelNames: ['model', 'version'] as const,
    registers: [registry],
    collect() {
      for (const m of models.all()) {
        for (const r of m.refused()) {
          const key = `${m.name}\u0000${r.version}\u0000${r.at}\u0000${r.reason}`;
          if (seenRefusals.has(key)) continue;
          seenRefusals.add(key);
          refused.inc({ model: m.name, version: r.version });
        }
      }
    },
  });

  return {
    registry,
    request(route, method, code, seconds, protocol = 'http') {
      requestDuration.observe(requestDuration.series(route, method, String(code), protocol), seconds);
    },
    success(model, version, rows, batch, requestMs, queueMs) {
      // Counters are summed here and handed to prom-client at scrape time (see flushCounts):
      // five labelled inc() calls per request cost more than the model run of a small batch.
      const key = `${model}\u0000${version}`;
      let c = pending.get(key);
      if (!c) {
        c = { model, version, success: 0, inferences: 0, execs: 0, requestUs: 0, queueUs: 0, queue: queueDuration.series(model, version), batch: batchSize.series(model, version) };
        pending.set(key, c);
      }
      c.success += 1;
      c.inferences += rows;
      c.execs += batch > 0 ? Math.min(1, rows / batch) : 1;
      c.requestUs += Math.round(requestMs * 1000);
      c.queueUs += Math.round(queueMs * 1000);
      queueDuration.observe(c.queue, queueMs / 1000);
      batchSize.observe(c.batch, batch);
    },
    failure(model, version, reason) {
      failure.inc({ model, version, reason });
    },
  };
}
