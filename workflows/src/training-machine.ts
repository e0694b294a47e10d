import { ActivityCancellationType, ApplicationFailure, CancellationScope, isCancellation, proxyActivities, sleep } from '@temporalio/workflow';
import type { ControlActivities, Machine, StopResult, TrainingPlan } from '@cd4ml/activities';
import { durationMs } from '@cd4ml/contracts/config';
import { FailureType } from '@cd4ml/contracts/failures';
import { retry } from './activity-options.ts';
import type { ProgressTracker } from './progress.ts';

// Switching a cloud machine on can take minutes (boot, then its worker starts). It heartbeats, so a
// dead worker is noticed in 30 s; a cancel waits for the activity to switch off what it switched on.
const compute = proxyActivities<ControlActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry,
});
// Cleanup must outlast any outage: it retries until it succeeds.
const cleanup = proxyActivities<ControlActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** The training's machine: switched on once, and always switched off again. */
export class TrainingMachine {
  private machine: Machine | undefined;
  private startAttempted = false;
  stopped: StopResult | undefined;

  constructor(
    private readonly plan: TrainingPlan,
    private readonly workflowId: string,
    private readonly progress: ProgressTracker,
  ) {}

  async start(): Promise<Machine> {
    this.progress.enter('start-machine');
    this.startAttempted = true;
    this.machine = await compute.startMachine({ location: this.plan.request.location, config: this.plan.location, workflowId: this.workflowId });
    return this.machine;
  }

  /** Switches off what start switched on. Call it in a non-cancellable scope. */
  async stop(): Promise<void> {
    if (this.machine) {
      this.progress.enter('stop-machine');
      this.stopped = await cleanup.stopMachine(this.machine);
    } else if (this.startAttempted) {
      // startMachine never returned (cancelled or failed after launching): stop whatever carries our tags.
      this.progress.enter('stop-machine');
      this.stopped = await cleanup.stopUnstartedMachine({ location: this.plan.request.location, config: this.plan.location, workflowId: this.workflowId });
    }
  }
}

/**
 * Runs `fn` (everything that may cost machine time) and cancels it once the
 * location's maxRuntime has passed, failing the training as MaxRuntimeExceeded.
 */
export async function withinMaxRuntime<T>(plan: TrainingPlan, fn: () => Promise<T>): Promise<T> {
  const pipeline = new CancellationScope();
  const guard = new CancellationScope();
  let runaway = false;
  void guard.run(() => sleep(durationMs(plan.location.maxRuntime))).then(() => {
    runaway = true;
    pipeline.cancel();
  }).catch(() => undefined);
  try {
    return await pipeline.run(fn);
  } catch (err) {
    if (runaway && isCancellation(err)) {
      const { location } = plan.request;
      throw ApplicationFailure.create({
        message: `training ran longer than location "${location}"'s maxRuntime (${plan.location.maxRuntime}) and was stopped; raise locations.${location}.maxRuntime in cd4ml.yaml if it needs longer`,
        type: FailureType.MaxRuntimeExceeded, nonRetryable: true,
      });
    }
    throw err;
  } finally {
    guard.cancel();
  }
}
