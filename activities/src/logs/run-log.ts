import { Context } from '@temporalio/activity';
import { stageLogKey } from '@cd4ml/contracts/ids';
import { openStore } from '@cd4ml/stores';
import { StageLog } from './stage-log.ts';

/** The log of `stage` for the run this activity belongs to: runs/<workflow id>/<run id>/logs/<stage>.log. */
export function stageLogOfThisRun(storeUrl: string, stage: string): StageLog | undefined {
  const ctx = Context.current();
  const run = ctx.info.workflowExecution;
  // An activity started on its own, outside a workflow, has no run to keep a log for.
  if (!run) return undefined;
  return new StageLog(openStore(storeUrl), stageLogKey(run.workflowId, run.runId, stage), (msg) => ctx.log.warn(msg));
}
