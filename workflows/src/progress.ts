import { defineQuery, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { Stage, TrainingProgress } from '@cd4ml/contracts/training';

export const progressQuery = defineQuery<TrainingProgress>('progress');

/**
 * Where a training is: answered to the CLI through the `progress` query and
 * shown in the Web UI as the workflow's current details.
 */
export class ProgressTracker {
  private readonly state: TrainingProgress = { stage: 'queued', stageStartedAt: Date.now(), stages: [] };

  constructor(private readonly title: string) {
    setHandler(progressQuery, () => this.state);
    this.show();
  }

  enter(stage: Stage, waitingFor?: string): void {
    const now = Date.now();
    const last = this.state.stages.at(-1);
    if (last && last.endedAt === undefined) last.endedAt = now;
    this.state.stage = stage;
    this.state.stageStartedAt = now;
    this.state.waitingFor = waitingFor;
    this.state.stages.push({ stage, startedAt: now });
    this.show();
  }

  /** A line people should see beside the stages (Web UI and the CLI), e.g. a restart on another worker. */
  note(text: string): void {
    (this.state.notes ??= []).push(text);
    this.show();
  }

  /** Seconds spent per stage so far. */
  durations(): Partial<Record<Stage, number>> {
    const now = Date.now();
    const out: Partial<Record<Stage, number>> = {};
    for (const s of this.state.stages) out[s.stage] = (out[s.stage] ?? 0) + ((s.endedAt ?? now) - s.startedAt) / 1000;
    return out;
  }

  private show(): void {
    const { stage, waitingFor } = this.state;
    const lines = [`**${this.title}**`, '', `stage: \`${stage}\``];
    if (waitingFor) lines.push(`waiting for: ${waitingFor}`);
    for (const note of this.state.notes ?? []) lines.push(`note: ${note}`);
    lines.push('', ...this.state.stages.map((s) => `- ${s.stage}${s.endedAt ? ` (${((s.endedAt - s.startedAt) / 1000).toFixed(1)} s)` : ' ...'}`));
    setCurrentDetails(lines.join('\n'));
  }
}
