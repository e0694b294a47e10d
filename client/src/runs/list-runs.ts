import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { SweepResult, TrainingResult } from '@cd4ml/contracts';
import { RUN_KINDS, runsQuery, type RunFilters, type RunKind } from './query.ts';

/** One line of `cd4ml runs`. */
export interface RunRow {
  id: string;
  kind: RunKind;
  /** running, completed, failed, cancelled, terminated, timed_out */
  state: string;
  /** Trainings: Cd4mlDecision; sweeps: released or nothing-released; image builds: built or cached. */
  decision?: string;
  metric?: number;
  startedAt: Date;
  seconds: number;
  /** USD, from the locations' hourlyPrice; absent when unknown. */
  cost?: number;
}

const KIND_OF_TYPE = Object.fromEntries(Object.entries(RUN_KINDS).map(([k, t]) => [t, k])) as Record<string, RunKind>;

/** The runs matching the filters, newest first, at most `limit`. */
export async function listRuns(client: Client, filters: RunFilters, limit = 50, now = Date.now()): Promise<RunRow[]> {
  const query = runsQuery(filters, now);
  const rows: RunRow[] = [];
  for await (const w of client.workflow.list({ query })) {
    rows.push(await rowOf(client, w, now));
    if (rows.length >= limit) break;
  }
  return rows;
}

const attr = (w: WorkflowExecutionInfo, name: string): unknown => (w.searchAttributes?.[name] as unknown[] | undefined)?.[0];

async function rowOf(client: Client, w: WorkflowExecutionInfo, now: number): Promise<RunRow> {
  const kind = KIND_OF_TYPE[w.type] ?? 'train';
  const row: RunRow = {
    id: w.workflowId, kind, state: w.status.name.toLowerCase(), startedAt: w.startTime,
    seconds: ((w.closeTime?.getTime() ?? now) - w.startTime.getTime()) / 1000,
  };
  const decision = attr(w, 'Cd4mlDecision');
  const metric = attr(w, 'Cd4mlMetric');
  if (typeof decision === 'string') row.decision = decision;
  if (typeof metric === 'number') row.metric = metric;
  if (w.status.name === 'COMPLETED') Object.assign(row, await fromResult(client, w, kind));
  return row;
}

/** Cost (and, for sweeps and images, the outcome) is in the result, not in visibility: one read per completed run. */
async function fromResult(client: Client, w: WorkflowExecutionInfo, kind: RunKind): Promise<Partial<RunRow>> {
  const result: unknown = await client.workflow.getHandle(w.workflowId, w.runId).result().catch(() => undefined);
  if (!result) return {};
  if (kind === 'train') {
    const r = result as TrainingResult;
    return r.estimatedCost != null ? { cost: r.estimatedCost } : {};
  }
  if (kind === 'sweep') {
    const r = result as SweepResult;
    return { decision: r.state, ...(r.spent != null ? { cost: r.spent } : {}) };
  }
  return { decision: (result as { built?: boolean }).built ? 'built' : 'cached' };
}
