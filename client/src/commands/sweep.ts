import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SweepRequestInput, SweepResult, SweepStatus } from '@cd4ml/contracts';
import { nonNegative, positiveInt } from './parse-options.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

export function sweepCommand(program: Command): void {
  const sweep = program
    .command('sweep')
    .description('train one setting per trial (in parallel on launched instances), gate each, release the best under --tag (exit 0 released, 3 nothing released, 1 failed)')
    .option('--repo <url>', 'git repository of the ML project')
    .option('--project <name>', 'project name, as in its cd4ml.yaml')
    .option('--tag <tag>', 'release tag of the best trial, e.g. v2.0')
    .option('--grid <key=values>', "a params.yaml key and its values, e.g. 'train.C=0.1,1,10' (repeatable: every combination)", collect, [])
    .option('--sweep <name>', 'a sweeps.<name> of cd4ml.yaml instead of --grid')
    .option('--random <n>', 'only n of the combinations, drawn by --seed', positiveInt('--random'))
    .option('--seed <s>', 'seed of --random', (v) => Number.parseInt(v, 10), 0)
    .option('--parallel <n>', 'trials at a time', positiveInt('--parallel'))
    .option('--location <name>', 'where the trials run (repeatable: spread over them)', collect, [])
    .option('--budget <usd>', 'no trial starts that would pass this many USD (from the locations\' hourlyPrice)', nonNegative('--budget'))
    .option('--trial-estimate <duration>', 'a trial\'s expected machine time before any has ended, for --budget (default: maxRuntime)')
    .option('--branch <branch>', 'branch to train', 'main')
    .option('--commit <sha>', 'commit to train (default: the branch head)')
    .option('--reason <text>', 'why: shown on the release', 'cli')
    .option('--requested-by <who>', 'who asks', process.env.USER ?? 'cli')
    .option('--config <path>', 'cd4ml.yaml path in the repository', 'cd4ml.yaml')
    .option('--no-wait', 'start (or find) the sweep and return its id')
    .action(async (o) => {
      const missing = ['repo', 'project', 'tag'].filter((k) => !o[k]);
      if (missing.length) throw new Error(`cd4ml sweep needs ${missing.map((m) => `--${m}`).join(', ')}`);
      if (!o.grid.length && !o.sweep) throw new Error("cd4ml sweep needs --grid key=values (e.g. --grid 'train.C=0.1,1,10') or --sweep <name>");
      const { parseGrid } = await import('@cd4ml/contracts');
      const request: SweepRequestInput = {
        project: o.project, repoUrl: o.repo, branch: o.branch, commit: o.commit, releaseTag: o.tag,
        reason: o.reason, requestedBy: o.requestedBy, configPath: o.config,
        ...(o.grid.length ? { grid: parseGrid(o.grid) } : {}),
        ...(o.sweep ? { sweep: o.sweep } : {}),
        ...(o.random ? { random: { count: o.random, seed: o.seed } } : {}),
        ...(o.parallel ? { parallel: o.parallel } : {}),
        ...(o.location.length === 1 ? { location: o.location[0] } : o.location.length > 1 ? { locations: o.location } : {}),
        ...(o.budget !== undefined ? { budget: o.budget } : {}),
        ...(o.trialEstimate ? { trialEstimate: o.trialEstimate } : {}),
      };
      await sweepAndFollow(request, o.wait);
    });
  sweep
    .command('status <tag>')
    .description('the trials of a sweep: setting, state, metric with interval, cost, machine')
    .requiredOption('--project <name>', 'project name')
    .action(async (tag: string, o: { project: string }) => {
      const [{ sweepWorkflowId }, { connectClient }, { renderSweepStatus }] = await Promise.all([
        import('@cd4ml/contracts'), import('../connection.ts'), import('../render-sweep.ts'),
      ]);
      const client = await connectClient();
      console.log(renderSweepStatus(await client.workflow.getHandle(sweepWorkflowId(o.project, tag)).query<SweepStatus>('sweepStatus')));
    });
}

/** Starts (or attaches to) a sweep and, with `wait`, prints each trial's change of state and the table at the end. */
export async function sweepAndFollow(request: SweepRequestInput, wait: boolean): Promise<void> {
  // Loaded here, not at the top: registering commands stays cheap (see cli.ts).
  const [{ connectClient }, { startSweep }, { renderSweepStatus }] = await Promise.all([
    import('../connection.ts'), import('../start-sweep.ts'), import('../render-sweep.ts'),
  ]);
  const client = await connectClient();
  const { handle, attached } = await startSweep(client, request);
  console.log(`${attached ? 'attached to' : 'started'} ${handle.workflowId}`);
  if (!wait) return;
  const seen = new Map<number, string>();
  let done = false;
  const ended = handle.result().finally(() => void (done = true)) as Promise<SweepResult>;
  while (!done) {
    const s = await handle.query<SweepStatus>('sweepStatus').catch(() => undefined);
    for (const t of s?.trials ?? []) {
      if (seen.get(t.n) !== t.state) console.log(`trial ${t.n}: ${t.state}${typeof t.metric === 'number' ? ` (${s!.metric} ${t.metric})` : ''}`);
      seen.set(t.n, t.state);
    }
    await Promise.race([ended.catch(() => undefined), sleep(2000)]);
  }
  try {
    const result = await ended;
    console.log(renderSweepStatus(result));
    process.exitCode = result.release ? 0 : 3;
  } catch (err) {
    console.error(`${handle.workflowId} failed: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
    process.exitCode = 1;
  }
}
