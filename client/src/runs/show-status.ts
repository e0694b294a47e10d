import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { SEARCH_ATTRIBUTES, type TrainingResult } from '@cd4ml/contracts';
import { progressQuery } from '@cd4ml/workflows/queries';
import { connectClient } from '../connection.ts';
import { describeStage, failureOutcome } from '../watch-training.ts';
import { renderOutcome } from '../render.ts';
import { renderSteps, stepsOf } from './history-steps.ts';
import { webUiLink } from '../web-ui.ts';

type Description = Awaited<ReturnType<WorkflowHandle['describe']>>;

/** `cd4ml status <id>`: what the Web UI shows of a run. */
export async function showStatus(id: string): Promise<void> {
  const client = await connectClient();
  const handle = client.workflow.getHandle(id);
  let d: Description;
  try {
    d = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new Error(`no run with id ${id}: ids look like train/<project>/<tag>; \`cd4ml runs\` lists them`);
    throw err;
  }
  const status = d.status.name;
  if (status === 'RUNNING' && d.type === 'trainModel') {
    const p = await handle.query(progressQuery);
    console.log(`${id}: ${describeStage(p)} for ${((Date.now() - p.stageStartedAt) / 1000).toFixed(1)} s`);
    for (const s of p.stages.filter((x) => x.endedAt)) console.log(`  done ${s.stage} ${((s.endedAt! - s.startedAt) / 1000).toFixed(1)} s`);
    for (const n of p.notes ?? []) console.log(`  note: ${n}`);
  } else if (status === 'COMPLETED') {
    const result = await handle.result();
    console.log(`${id}: completed`);
    if (d.type === 'trainModel') console.log(renderOutcome({ kind: 'completed', result: result as TrainingResult }));
  } else {
    const outcome = status === 'RUNNING' ? undefined : await handle.result().then(() => undefined, failureOutcome);
    console.log(`${id}: ${status.toLowerCase()}`);
    if (outcome) console.log(renderOutcome(outcome));
  }
  console.log(await details(handle, d));
}

/** Beside the outcome, what the Web UI shows: attributes, times, the link, and every step with its attempts. */
async function details(handle: WorkflowHandle, d: Description): Promise<string> {
  const attrs = Object.keys(SEARCH_ATTRIBUTES).flatMap((k) => {
    const v = (d.searchAttributes?.[k] as unknown[] | undefined)?.[0];
    return v === undefined ? [] : [`${k.slice('Cd4ml'.length).replace(/^./, (c) => c.toLowerCase())} ${v}`];
  });
  const end = d.closeTime ?? new Date();
  const lines = [
    `run:      ${d.type} ${d.runId}, started ${d.startTime.toISOString()}, ${d.closeTime ? 'ran' : 'running for'} ${((end.getTime() - d.startTime.getTime()) / 1000).toFixed(1)} s`,
    ...(attrs.length ? [`search:   ${attrs.join(', ')}`] : []),
    `web ui:   ${webUiLink(d.workflowId, d.runId)}`,
    'steps:',
  ];
  const history = await handle.fetchHistory();
  const steps = stepsOf(history, d.raw.pendingActivities ?? []);
  lines.push(...(steps.length ? renderSteps(steps) : ['  (none yet)']));
  return lines.join('\n');
}
