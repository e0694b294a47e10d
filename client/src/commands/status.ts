import type { Command } from 'commander';
import type { TrainingResult } from '@cd4ml/contracts';

export function statusCommand(program: Command): void {
  program
    .command('status <id>')
    .description('where a training is: its stage and how long it has been there, or how it ended (id: train/<project>/<tag>)')
    .action(async (id: string) => {
      // Loaded here, not at the top: registering commands stays cheap (see cli.ts).
      const [{ WorkflowNotFoundError }, { progressQuery }, { connectClient }, { describeStage, failureOutcome }, { renderOutcome }] = await Promise.all([
        import('@temporalio/client'), import('@cd4ml/workflows/queries'), import('../connection.ts'), import('../watch-training.ts'), import('../render.ts'),
      ]);
      const client = await connectClient();
      const handle = client.workflow.getHandle(id);
      let status: string;
      try {
        status = (await handle.describe()).status.name;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new Error(`no run with id ${id}: ids look like train/<project>/<tag>`);
        throw err;
      }
      if (status === 'RUNNING') {
        const p = await handle.query(progressQuery);
        console.log(`${id}: ${describeStage(p)} for ${((Date.now() - p.stageStartedAt) / 1000).toFixed(1)} s`);
        for (const s of p.stages.filter((x) => x.endedAt)) console.log(`  done ${s.stage} ${((s.endedAt! - s.startedAt) / 1000).toFixed(1)} s`);
        return;
      }
      if (status === 'COMPLETED') {
        const result = (await handle.result()) as TrainingResult;
        console.log(`${id}: completed`);
        console.log(renderOutcome({ kind: 'completed', result }));
        return;
      }
      const outcome = await handle.result().then(() => undefined, failureOutcome);
      console.log(`${id}: ${status.toLowerCase()}`);
      if (outcome) console.log(renderOutcome(outcome));
    });
}
