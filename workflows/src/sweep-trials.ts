import type { SweepLocation, SweepPlan } from '@cd4ml/activities';
import { usd, type SweepStatus, type SweepTrialStatus } from '@cd4ml/contracts/sweep';
import type { SweepReport } from '@cd4ml/contracts/sweep-format';
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

/** The table as the release report shows it: `best` released, the other accepted trials discarded (as they are about to be). */
export function sweepReport(status: SweepStatus, best: number): SweepReport {
  const trials = status.trials.map((t) => ({
    ...t, state: t.n === best ? 'released' as const : t.state === 'accepted' ? 'discarded' as const : t.state,
  }));
  const { workflowId, metric, higherIsBetter, parallel, budget } = status;
  return { workflowId, metric, higherIsBetter, parallel, budget, spent: spent(status), trials, best };
}

/** USD spent by ended trials; null when none of them has a price. */
export function spent(status: SweepStatus): number | null {
  const costs = status.trials.map((t) => t.cost).filter((c): c is number => typeof c === 'number');
  return costs.length ? costs.reduce((a, b) => a + b, 0) : null;
}

const priceAt = (plan: SweepPlan, t: SweepTrialStatus): number => plan.locations.find((l) => l.name === t.location)?.hourlyPrice ?? 0;

/**
 * What a running trial has cost so far: the sweep's own clock since it started the
 * trial, at its location's hourlyPrice. Why the parent's clock: a workflow cannot query
 * its child, and the child's machine record comes only with its result. Counting from
 * the trial's start (its resolve and launch come before the machine costs anything)
 * over-counts by seconds, so the budget is never under-counted.
 */
export function runningCost(plan: SweepPlan, t: SweepTrialStatus, now: number): number {
  return t.startedAt === undefined ? 0 : (Math.max(0, now - t.startedAt) / 3_600_000) * priceAt(plan, t);
}

/** Ended trials' cost plus each running trial's so far. */
export function totalSpend(plan: SweepPlan, status: SweepStatus, now: number): number {
  return (spent(status) ?? 0) + status.trials.filter((t) => t.state === 'running').reduce((sum, t) => sum + runningCost(plan, t, now), 0);
}

/** Milliseconds from `now` until the running trials take the total past the budget; null when nothing can. */
export function msUntilBudgetPassed(plan: SweepPlan, status: SweepStatus, now: number): number | null {
  if (plan.budget === null) return null;
  const perMs = status.trials.filter((t) => t.state === 'running').reduce((sum, t) => sum + priceAt(plan, t) / 3_600_000, 0);
  if (perMs <= 0) return null;
  // "Passes" is strictly more than the budget: one millisecond after reaching it.
  return Math.max(0, Math.ceil((plan.budget - totalSpend(plan, status, now)) / perMs)) + 1;
}

/** Why the running trials are stopped: the total has passed the budget. */
export function budgetPassed(plan: SweepPlan, status: SweepStatus, now: number): string {
  return `budget ${usd(plan.budget ?? 0)} passed: ${usd(totalSpend(plan, status, now))} spent with this trial running`;
}

/**
 * Why `trial` must not start under the budget, or null when it may: the spend so far,
 * plus each running trial at its expected cost (or what it has cost already, if more),
 * plus this one's would pass the budget. A trial's expected cost is the mean of the
 * ended trials', or before any has ended the plan's estimate at its location's price.
 */
export function budgetRefusal(plan: SweepPlan, status: SweepStatus, trial: SweepTrialStatus, now = 0): string | null {
  if (plan.budget === null) return null;
  const ended = status.trials.map((t) => t.cost).filter((c): c is number => typeof c === 'number');
  const expected = (t: SweepTrialStatus) => ended.length
    ? ended.reduce((a, b) => a + b, 0) / ended.length
    : (plan.trialEstimateMs / 3_600_000) * priceAt(plan, t);
  const sofar = spent(status) ?? 0;
  const running = status.trials.filter((t) => t.state === 'running')
    .reduce((sum, t) => sum + Math.max(expected(t), runningCost(plan, t, now)), 0);
  const mine = expected(trial);
  if (sofar + running + mine <= plan.budget) return null;
  return `budget ${usd(plan.budget)}: spent ${usd(sofar)}, running ${usd(running)}, this trial's expected ${usd(mine)} would pass it`;
}

/** One line for the Web UI and the result: what the sweep did. */
export function sweepSummary(status: SweepStatus): string {
  const count = (s: string) => status.trials.filter((t) => t.state === s).length;
  const n = status.trials.length;
  const best = status.trials.find((t) => t.n === status.best);
  const parts = [`${n} trials`, ...(['released', 'discarded', 'rejected', 'failed', 'stopped', 'skipped', 'cancelled'] as const)
    .filter((s) => count(s)).map((s) => `${count(s)} ${s}`)];
  const cost = status.spent === null ? '' : `, spent ${usd(status.spent)}${status.budget === null ? '' : ` of ${usd(status.budget)}`}`;
  if (best) return `released ${status.releaseTag}: trial ${best.n} (${status.metric} ${best.metric}); ${parts.join(', ')}${cost}`;
  const why = count('failed') === n ? 'every trial failed'
    : count('skipped') === n ? 'the budget allowed no trial'
      : count('stopped') + count('skipped') ? 'the budget ran out before a trial was accepted'
        : count('accepted') + count('released') === 0 && count('rejected') ? 'no trial passed the gate' : 'no trial was accepted';
  return `nothing released: ${why}; ${parts.join(', ')}${cost}`;
}
