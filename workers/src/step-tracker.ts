import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';

type Activities = Record<string, (...args: never[]) => Promise<unknown>>;

/**
 * Which training a location worker serves: a worker asked to step aside keeps its
 * checkout queue until that training has ended, so the training finishes on the
 * checkout it started on instead of starting over elsewhere.
 */
export class StepTracker {
  private inFlight = 0;
  private lastWorkflowId: string | undefined;

  constructor(private readonly client: Client) {}

  wrap<T extends Activities>(activities: T): T {
    const wrapped: Activities = {};
    for (const [name, fn] of Object.entries(activities) as [string, Activities[string]][]) {
      wrapped[name] = async (...args) => {
        this.lastWorkflowId = Context.current().info.workflowExecution?.workflowId ?? this.lastWorkflowId;
        this.inFlight++;
        try {
          return await fn(...args);
        } finally {
          this.inFlight--;
        }
      };
    }
    return wrapped as T;
  }

  /** Resolves when no step runs and the last training served is no longer running. */
  async whenDone(everyMs = 2000): Promise<void> {
    for (;;) {
      if (this.inFlight === 0 && !(await this.stillRunning())) return;
      await sleep(everyMs);
    }
  }

  private async stillRunning(): Promise<boolean> {
    if (!this.lastWorkflowId) return false;
    try {
      return (await this.client.workflow.getHandle(this.lastWorkflowId).describe()).status.name === 'RUNNING';
    } catch (err) {
      // Not found: nothing left to serve. Anything else (Temporal briefly away): ask again.
      return !(err instanceof Error && err.name === 'WorkflowNotFoundError');
    }
  }
}
