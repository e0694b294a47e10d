import type { Command } from 'commander';
import type { TrainingRequestInput } from '@cd4ml/contracts';
import { exitCodeOf } from './exit-codes.ts';
import { positiveNumber } from './parse-options.ts';

export function trainCommand(program: Command): void {
  program
    .command('train')
    .description('train, gate and release a model; follows the run until it ends (exit 0 accepted, 3 rejected, 1 failed)')
    .requiredOption('--repo <url>', 'git repository of the ML project (any git url, or a local path)')
    .requiredOption('--project <name>', 'project name, as in its cd4ml.yaml')
    .requiredOption('--tag <tag>', 'release tag to create, e.g. v1.4')
    .option('--branch <branch>', 'branch to train', 'main')
    .option('--commit <sha>', 'commit to train (default: the branch head)')
    .option('--location <name>', 'where to train, a location in cd4ml.yaml', 'local')
    .option('--reason <text>', 'why: shown on the release', 'cli')
    .option('--requested-by <who>', 'who asks', process.env.USER ?? 'cli')
    .option('--config <path>', 'cd4ml.yaml path in the repository', 'cd4ml.yaml')
    .option('--budget <usd>', 'stop the training (failed as BudgetExceeded) once its machine time x the location\'s hourlyPrice passes this many USD', positiveNumber('--budget'))
    .option('--no-wait', 'start (or find) the training and return its id')
    .action(async (o) => {
      await trainAndFollow({
        project: o.project, repoUrl: o.repo, branch: o.branch, commit: o.commit, releaseTag: o.tag,
        location: o.location, reason: o.reason, requestedBy: o.requestedBy, configPath: o.config,
        ...(o.budget !== undefined ? { budget: o.budget } : {}),
      }, o.wait);
    });
}

/** Starts (or attaches to) a training and, with `wait`, follows it to its decision; sets the exit code. */
export async function trainAndFollow(request: TrainingRequestInput, wait: boolean): Promise<void> {
  // Loaded here, not at the top: registering commands stays cheap (see cli.ts).
  const [{ trainWorkflowId }, { connectClient }, { startTraining }, { watchTraining }, { renderOutcome }] = await Promise.all([
    import('@cd4ml/contracts'), import('../connection.ts'), import('../start-training.ts'), import('../watch-training.ts'), import('../render.ts'),
  ]);
  const client = await connectClient();
  const { handle, attached } = await startTraining(client, request);
  console.log(`${attached ? 'attached to' : 'started'} ${trainWorkflowId(request.project, request.releaseTag)}`);
  if (!wait) return;
  const outcome = await watchTraining(handle);
  console.log(renderOutcome(outcome));
  process.exitCode = exitCodeOf(outcome);
}
