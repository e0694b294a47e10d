import type { GatePolicy } from '@cd4ml/contracts';
import { formatNumber as fmt } from '@cd4ml/onnx';
import type { PairedInterval } from './statistics/bootstrap.ts';

// The gate's decision on the paired bootstrap interval of metric(candidate) -
// metric(baseline). The interval is first oriented so that positive means the
// candidate is better; its pessimistic end is then what the policy judges:
//   not-worse: passes when the candidate is at worst `margin` worse (lo >= -margin);
//   better:    passes when even the pessimistic end is an improvement (lo > 0).

export interface DecideInput {
  policy: GatePolicy;
  /** In the metric's units; only not-worse uses it. */
  margin: number;
  higherIsBetter: boolean;
  interval: PairedInterval;
  /** The release the candidate is compared with, for the detail. */
  baselineTag?: string;
}

export interface Decision {
  passed: boolean;
  detail: string;
}

// Float sums like 0.94 - 0.96 land a hair beyond 0.02; boundaries must pass (as in checks.ts).
const EPS = 1e-9;

const signed = (n: number): string => (n > 0 ? `+${fmt(n)}` : fmt(n));

/** "accuracy 0.931 vs baseline v1.2 0.9138: +0.0172 (95% CI -0.0086 to +0.0431, 58 rows, 1000 resamples)". */
function describeInterval(i: PairedInterval, baselineTag: string | undefined): string {
  const vs = baselineTag ? `baseline ${baselineTag}` : 'baseline';
  const skipped = i.undefinedResamples ? `, ${i.undefinedResamples} resamples undefined and left out` : '';
  return `${i.metric} ${fmt(i.candidate)} vs ${vs} ${fmt(i.baseline)}: ${signed(i.difference)} ` +
    `(${fmt(i.confidence * 100)}% CI ${signed(i.lo)} to ${signed(i.hi)}, ${i.rows} rows, ${i.resamples} resamples${skipped})`;
}

export function decide({ policy, margin, higherIsBetter, interval, baselineTag }: DecideInput): Decision {
  const figures = describeInterval(interval, baselineTag);
  const rule = (policy === 'not-worse' ? `not-worse with margin ${fmt(margin)}` : 'better') + (higherIsBetter ? '' : ' (lower is better)');
  // Oriented: positive = candidate better. The pessimistic end is lo for higher-is-better, -hi otherwise.
  const pessimistic = higherIsBetter ? interval.lo : -interval.hi;
  if (!Number.isFinite(pessimistic) || !Number.isFinite(interval.difference)) {
    return { passed: false, detail: `${figures}; ${rule}: failed, the interval is not a number` };
  }
  if (policy === 'not-worse') {
    const passed = pessimistic >= -margin - EPS;
    const why = passed ? '' : `, the candidate may be worse by up to ${fmt(-pessimistic)}`;
    return { passed, detail: `${figures}; ${rule}: ${passed ? 'passed' : 'failed'}${why}` };
  }
  const passed = pessimistic > 0;
  const why = passed ? '' : ', the interval includes no improvement';
  return { passed, detail: `${figures}; ${rule}: ${passed ? 'passed' : 'failed'}${why}` };
}
