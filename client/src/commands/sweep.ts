import type { Command } from 'commander';
import type { SweepRequestInput, SweepStatus } from '@cd4ml/contracts';
import { positiveInt, positiveNumber } from './parse-options.ts';

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
    .option('--budget <usd>', 'no trial starts that would pass this many USD (from the locations\' hourlyPrice)', positiveNumber('--budget'))
    .option('--trial-estimate <duration>', 'a trial\'s expected machine time before any has ended, for --budget (default: maxRuntime)')
    .option('--branch <branch>', 'branch to train', 'main')
    .option('--commit <sha>', 'commit to train (default: the branch head)')
    .option('--reason <text>', 'why: shown on the release', 'cli')
    .option('--requested-by <who>', 'who asks', process.env.USER ?? 'cli')
    .option('--config <path>', 'cd4ml.yaml path in the repository', 'cd4ml.yaml')
    .option('--no-wait', 'start (or find) the sweep and return its id')
    .action(async (o) => {
      // Loaded here, not at the top: registering commands stays cheap (see cli.ts).
      const [{ parseGrid }, { sweepAndFollow }] = await Promise.all([import('@cd4ml/contracts'), import('../sweep-follow.ts')]);
      const missing = ['repo', 'project', 'tag'].filter((k) => !o[k]);
      if (missing.length) throw new Error(`cd4ml sweep needs ${missing.map((m) => `--${m}`).join(', ')}`);
      if (!o.grid.length && !o.sweep) throw new Error("cd4ml sweep needs --grid key=values (e.g. --grid 'train.C=0.1,1,10') or --sweep <name>");
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
