import { randomUUID } from 'node:crypto';
import { durationMs, type Candidate, type RolloutFigures } from '@cd4ml/contracts';
import type { InferTensor } from './types.ts';

// Watches one step of a rollout on this replica: which requests go to the
// candidate (a hash of the request id, so every replica splits alike without
// talking), and the candidate's and live's figures over the same window.

/** FNV-1a of the id, scaled to [0, 1): the same id lands on the same side everywhere. */
export function bucketOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 0x1_0000_0000;
}

const MAX_LATENCIES = 20_000;

/** One release's answers in the window. */
class Window {
  requests = 0;
  errors = 0;
  latencies: number[] = [];
  classes = new Map<string, number>();
  rows = 0;
  sum = 0;

  record(ok: boolean, ms: number, outputs: InferTensor[] | undefined): void {
    this.requests++;
    if (!ok) this.errors++;
    if (this.latencies.length < MAX_LATENCIES) this.latencies.push(ms);
    if (ok && outputs) this.addOutputs(outputs);
  }

  /** Class counts from an integer or string `label` output, else the mean of the first output. */
  private addOutputs(outputs: InferTensor[]): void {
    const label = outputs.find((t) => t.name === 'label');
    if (label && !(label.data instanceof Float32Array || label.data instanceof Float64Array)) {
      const data = label.data as ArrayLike<unknown>;
      for (let i = 0; i < data.length; i++) {
        const k = String(data[i]);
        this.classes.set(k, (this.classes.get(k) ?? 0) + 1);
        this.rows++;
      }
      return;
    }
    const first = outputs[0];
    if (!first || !(first.data instanceof Float32Array || first.data instanceof Float64Array)) return;
    for (const v of first.data) {
      this.sum += v;
      this.rows++;
    }
  }

  errorRate(): number {
    return this.requests === 0 ? 0 : this.errors / this.requests;
  }

  p99(): number | null {
    if (this.latencies.length === 0) return null;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
  }
}

/** Total variation between class shares, or the relative change of the mean (capped at 1). */
function shift(a: Window, b: Window): number | null {
  if (a.rows === 0 || b.rows === 0) return null;
  if (a.classes.size > 0 || b.classes.size > 0) {
    let tv = 0;
    for (const k of new Set([...a.classes.keys(), ...b.classes.keys()])) {
      tv += Math.abs((a.classes.get(k) ?? 0) / a.rows - (b.classes.get(k) ?? 0) / b.rows);
    }
    return tv / 2;
  }
  const ma = a.sum / a.rows;
  const mb = b.sum / b.rows;
  return Math.min(1, Math.abs(ma - mb) / Math.max(Math.abs(mb), 1e-9));
}

/** Whether two answers agree: equal labels, else floats within 1e-3 (relative). */
function agrees(a: InferTensor[], b: InferTensor[]): boolean {
  const pick = (o: InferTensor[]): InferTensor | undefined => o.find((t) => t.name === 'label') ?? o[0];
  const x = pick(a);
  const y = pick(b);
  if (!x || !y || x.data.length !== y.data.length) return false;
  for (let i = 0; i < x.data.length; i++) {
    const u = x.data[i] as unknown;
    const v = y.data[i] as unknown;
    if (typeof u === 'number' && typeof v === 'number') {
      if (Math.abs(u - v) > 1e-3 * Math.max(1, Math.abs(v))) return false;
    } else if (u !== v) return false;
  }
  return true;
}

export type Verdict = { action: 'wait' } | { action: 'advance' | 'rollback'; reason: string };

export class RolloutMonitor {
  readonly live = new Window();
  readonly candidate = new Window();
  /** Live's window of the step before, for judging the output at 100% (live gets no traffic then). */
  private readonly reference: Window | null;
  compared = 0;
  agreed = 0;

  constructor(readonly spec: Candidate, previous: RolloutMonitor | null = null) {
    this.reference = previous && previous.live.rows > 0 ? previous.live : (previous?.reference ?? null);
  }

  /** Identifies the step this monitor watches: a new one starts a new window. */
  static keyOf(c: Candidate): string {
    return `${c.tag}\u0000${c.step}\u0000${c.stepStartedAt}`;
  }

  get share(): number {
    return this.spec.rollout.mode === 'canary' ? (this.spec.rollout.steps[this.spec.step] ?? 0) / 100 : 0;
  }

  /** True when this request goes to the candidate. */
  routesToCandidate(id: string | undefined): boolean {
    const share = this.share;
    if (share <= 0) return false;
    if (share >= 1) return true;
    return bucketOf(id ?? randomUUID()) < share;
  }

  compare(live: InferTensor[], candidate: InferTensor[]): void {
    this.compared++;
    if (agrees(live, candidate)) this.agreed++;
  }

  figures(): RolloutFigures {
    const base = this.live.rows > 0 ? this.live : (this.reference ?? this.live);
    return {
      requests: this.candidate.requests,
      errorRate: this.candidate.errorRate(),
      p99Ms: this.candidate.p99(),
      liveRequests: this.live.requests,
      liveErrorRate: this.live.errorRate(),
      liveP99Ms: this.live.p99(),
      outputShift: shift(this.candidate, base),
      agreement: this.compared === 0 ? null : this.agreed / this.compared,
    };
  }

  /** Rolls back as soon as a limit is broken (with enough requests); advances once the step's time is up. */
  judge(now = Date.now()): Verdict {
    const { rollout } = this.spec;
    const f = this.figures();
    if (f.requests < rollout.minRequests) return { action: 'wait' };
    if (f.errorRate > rollout.maxErrorRate) {
      return { action: 'rollback', reason: `error rate ${f.errorRate.toFixed(3)} > maxErrorRate ${rollout.maxErrorRate} over ${f.requests} requests (live ${f.liveErrorRate.toFixed(3)})` };
    }
    if (f.p99Ms !== null && f.p99Ms > rollout.maxP99Ms) {
      return { action: 'rollback', reason: `p99 ${f.p99Ms.toFixed(1)} ms > maxP99Ms ${rollout.maxP99Ms} (live ${f.liveP99Ms?.toFixed(1) ?? '-'} ms)` };
    }
    if (rollout.mode === 'canary' && f.outputShift !== null && f.outputShift > rollout.maxOutputShift) {
      return { action: 'rollback', reason: `output shift ${f.outputShift.toFixed(3)} > maxOutputShift ${rollout.maxOutputShift} against live` };
    }
    if (now - Date.parse(this.spec.stepStartedAt) < durationMs(rollout.stepTime)) return { action: 'wait' };
    if (rollout.mode === 'shadow') {
      if (f.agreement === null || f.agreement < rollout.minAgreement) {
        return { action: 'rollback', reason: `shadow agreement ${f.agreement?.toFixed(3) ?? '-'} < minAgreement ${rollout.minAgreement} over ${this.compared} requests` };
      }
      return { action: 'advance', reason: `shadow agreement ${f.agreement.toFixed(3)}` };
    }
    if (f.outputShift === null) return { action: 'wait' }; // nothing to compare with yet
    return { action: 'advance', reason: `step ${this.spec.step + 1} within limits` };
  }
}
