import { ApplicationFailure, CancellationScope, isCancellation, patched, sleep } from '@temporalio/workflow';
import type { Machine, TrainingPlan } from '@cd4ml/activities';
import { FailureType } from '@cd4ml/contracts/failures';
import { usd } from '@cd4ml/contracts/sweep';

/** Histories from before `train --budget` start no budget timer (and none of them has a budget). */
export const TRAINING_BUDGET_PATCH = 'training-budget';

/**
 * Machine milliseconds a budget buys at an hourly price, counted from when the machine
 * started costing (`Machine.startedAt`, the instance's launch): the same measure as the
 * result's machineSeconds and estimatedCost.
 */
export const budgetMs = (budget: number, hourlyPrice: number): number => (budget / hourlyPrice) * 3_600_000;

/**
 * Runs `fn` (the steps on the machine) and cancels it once the machine's cost passes
 * the request's budget, failing the training as BudgetExceeded; the caller's cleanup
 * then switches the machine off (its last seconds come on top). Without a budget, or
 * on a machine without a price, `fn` just runs.
 */
export async function withinBudget<T>(plan: TrainingPlan, machine: Machine, fn: () => Promise<T>): Promise<T> {
  const { budget, location } = plan.request;
  const price = machine.hourlyPrice;
  if (budget === undefined || !price || !patched(TRAINING_BUDGET_PATCH)) return fn();
  const steps = new CancellationScope();
  const guard = new CancellationScope();
  let passed = false;
  // One millisecond after the budget is reached: "passes" is more than it.
  const left = Math.max(1, Math.ceil(budgetMs(budget, price) - (Date.now() - machine.startedAt)) + 1);
  void guard.run(() => sleep(left)).then(() => {
    passed = true;
    steps.cancel();
  }).catch(() => undefined);
  try {
    return await steps.run(fn);
  } catch (err) {
    if (passed && isCancellation(err)) {
      const seconds = (Date.now() - machine.startedAt) / 1000;
      throw ApplicationFailure.create({
        message: `the training's machine cost passed its budget of ${usd(budget)} (${Math.round(seconds)} s on location "${location}" at $${price}/h, about ${usd((seconds / 3600) * price)}) and was stopped; raise --budget if it needs more`,
        type: FailureType.BudgetExceeded, nonRetryable: true,
      });
    }
    throw err;
  } finally {
    guard.cancel();
  }
}
