import type { Command } from 'commander';
import { RUNS_EXIT } from './exit-codes.ts';

/** Stages whose output the location keeps per run. */
const KEPT_STAGES = ['dvc-repro'];

export function logsCommand(program: Command): void {
  program
    .command('logs <id>')
    .description("a training's stage output, kept by the location in the release store per run (the last 1 MiB); --follow streams a running stage")
    .option('--stage <stage>', `the stage: ${KEPT_STAGES.join(', ')}`, 'dvc-repro')
    .option('--follow', 'keep printing until the stage ends')
    .option('--store <folder|s3://bucket/prefix>', "the release store (default: the one the run's plan names)")
    .action(async (id: string, opts: { stage: string; follow?: boolean; store?: string }) => {
      // Loaded here, not at the top: registering commands stays cheap (see cli.ts).
      const [{ WorkflowNotFoundError }, { stageLogKey }, { connectClient }, { storeOfRun }, { printStageLog }] = await Promise.all([
        import('@temporalio/client'), import('@cd4ml/contracts/ids'), import('../connection.ts'), import('../runs/run-store.ts'), import('../runs/follow-log.ts'),
      ]);
      if (!KEPT_STAGES.includes(opts.stage)) {
        console.error(`cd4ml logs: --stage ${opts.stage}: no output is kept for it; one of ${KEPT_STAGES.join(', ')}`);
        process.exitCode = RUNS_EXIT.badInput;
        return;
      }
      const client = await connectClient();
      try {
        const handle = client.workflow.getHandle(id);
        const runId = await handle.describe().then((d) => d.runId, (err: unknown) => {
          if (err instanceof WorkflowNotFoundError) throw new Error(`no run with id ${id}: ids look like train/<project>/<tag>; \`cd4ml runs\` lists them`);
          throw err;
        });
        const storeUrl = opts.store ?? (await storeOfRun(handle));
        const none = `${id}: no ${opts.stage} output kept for run ${runId}`;
        if (!storeUrl) {
          console.error(`${none}: it ended before it was planned (see \`cd4ml status ${id}\`)`);
          process.exitCode = RUNS_EXIT.noLogs;
          return;
        }
        // The store (with the AWS SDK for s3://) only once it is needed.
        const { openStore } = await import('@cd4ml/stores');
        const store = openStore(storeUrl);
        const key = stageLogKey(id, runId, opts.stage);
        const printed = await printStageLog({
          read: () => store.getText(key),
          running: async () => (await handle.describe()).status.name === 'RUNNING',
        }, (text) => process.stdout.write(text), opts.follow ?? false);
        if (!printed) {
          console.error(`${none}: it did not reach ${opts.stage}, or ran before cd4ml kept logs (looked at ${store.locate(key)}; see \`cd4ml status ${id}\`)`);
          process.exitCode = RUNS_EXIT.noLogs;
        }
      } finally {
        await client.connection.close();
      }
    });
}
