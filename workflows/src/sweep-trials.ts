import type { SweepLocation, SweepPlan } from '@cd4ml/activities';
import type { SweepStatus, SweepTrialStatus } from '@cd4ml/contracts/sweep';
import type { TrainingResult } from '@cd4ml/contracts/training';
import { sweepTrialWorkflowId } from '@cd4ml/contracts/ids';

// The sweep's bookkeeping, plain functions of its status: which trial is best, what the
// budget allows, the table row of an ended trial. No workflow APIs, so unit tests call them.

export function initialStatus(plan: SweepPlan, workflowId: string): SweepStatus {
  const { request } = plan;
  return {
    workflowId, releaseTag: request.releaseTag, metric: plan.metric, higherIsBetter: plan.higherIsBetter,
    parallel: plan.parallel, budget: plan.budget, spent: null, state: 'running',
    trials: plan.settings.map((setting, i) => ({
      n: i + 1, setting, state: 'queued',
      workflowId: sweepTrialWorkflowId(request.project, request.releaseTag, i + 1),
      // Several locations take the trials in turn.
      location: plan.locations[i % plan.locations.length]!.name,
    })),
  };
}

/** The row of a trial that ended with a result (accepted or rejected by the gate). */
export function endedRow(trial: SweepTrialStatus, metric: string, result: TrainingResult): void {
  const value = result.metrics[metric];
  const c = result.comparison;
  trial.state = result.decision === 'accepted' && result.trial ? 'accepted' : 'rejected';
  trial.metric = typeof value === 'number' ? value : null;
  trial.interval = c && c.lo !== null && c.hi !== null ? { lo: c.lo, hi: c.hi, confidence: c.confidence } : null;
  trial.cost = result.estimatedCost;
  trial.machine = result.machine ? result.machine.instanceType ?? result.machine.provider : undefined;
  if (trial.state === 'rejected') trial.reason = result.reasons.join('; ');
}

/** The best accepted trial by the gate's own measurement on the holdout; ties go to the earlier trial. */
export function bestTrial(status: SweepStatus): SweepTrialStatus | undefined {
  let best: SweepTrialStatus | undefined;
  for (const t of status.trials) {
    if (t.state !== 'accepted' || typeof t.metric !== 'number') continue;
    if (!best || (status.higherIsBetter ? t.metric > best.metric! : t.metric < best.metric!)) best = t;
  }
  return best;
}

/** USD spent by ended trials; null when none of them has a price. */
export function spent(status: SweepStatus): number | null {
  const costs = status.trials.map((t) => t.cost).filter((c): c is number => typeof c === 'number');
  return costs.length ? costs.reduce((a, b) => a + b, 0) : null;
}

const usd = (x: number) => `$${x.toFixed(2)}`;

/**
 * Why `trial` must not start under the budget, or null when it may: the spend so far,
 * plus each running trial at its expected cost, plus this one's would pass the budget.
 * A trial's expected cost is the mean of the ended trials', or before any has ended
 * the plan's estimate at its location's price.
 */
export function budgetRefusal(plan: SweepPlan, status: SweepStatus, trial: SweepTrialStatus): string | null {
  if (plan.budget === null) return null;
  const ended = status.trials.map((t) => t.cost).filter((c): c is number => typeof c === 'number');
  const at = (l: string): SweepLocation => plan.locations.find((x) => x.name === l)!;
  const expected = (t: SweepTrialStatus) => ended.length
    ? ended.reduce((a, b) => a + b, 0) / ended.length
    : (plan.trialEstimateMs / 3_600_000) * (at(t.location).hourlyPrice ?? 0);
  const sofar = spent(status) ?? 0;
  const running = status.trials.filter((t) => t.state === 'running').reduce((sum, t) => sum + expected(t), 0);
  const mine = expected(trial);
  if (sofar + running + mine <= plan.budget) return null;
  return `budget ${usd(plan.budget)}: spent ${usd(sofar)}, running ${usd(running)}, this trial's expected ${usd(mine)} would pass it`;
}

/** One line for the Web UI and the result: what the sweep did. */
export function sweepSummary(status: SweepStatus): string {
  const count = (s: string) => status.trials.filter((t) => t.state === s).length;
  const n = status.trials.length;
  const best = status.trials.find((t) => t.n === status.best);
  const parts = [`${n} trials`, ...(['released', 'discarded', 'rejected', 'failed', 'skipped', 'cancelled'] as const)
    .filter((s) => count(s)).map((s) => `${count(s)} ${s}`)];
  const cost = status.spent === null ? '' : `, spent $${status.spent.toFixed(2)}${status.budget === null ? '' : ` of $${status.budget.toFixed(2)}`}`;
  if (best) return `released ${status.releaseTag}: trial ${best.n} (${status.metric} ${best.metric}); ${parts.join(', ')}${cost}`;
  const why = count('failed') === n ? 'every trial failed'
    : count('accepted') + count('released') === 0 && count('rejected') ? 'no trial passed the gate'
      : count('skipped') === n ? 'the budget allowed no trial' : 'no trial was accepted';
  return `nothing released: ${why}; ${parts.join(', ')}${cost}`;
}
