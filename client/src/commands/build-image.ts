import type { Command } from 'commander';
import type { ImageRequestInput, ImageResult } from '@cd4ml/contracts';
import { renderFailure } from '../render.ts';
import type { RunOutcome } from '../watch-training.ts';

export function buildImageCommand(program: Command): void {
  program
    .command('build-image')
    .description(
      'build and push the training image of a commit if the registry lacks it (content-addressed tag), and tag it with\n' +
        'the branch; follows the run until it ends (exit 0 built or already there, 1 failed)',
    )
    .requiredOption('--repo <url>', 'git repository of the ML project (any git url, or a local path)')
    .requiredOption('--project <name>', 'project name, as in its cd4ml.yaml')
    .option('--branch <branch>', 'branch: its head is built, and the image is tagged with its name', 'main')
    .option('--commit <sha>', 'commit to build (default: the branch head)')
    .option('--requested-by <who>', 'who asks', process.env.USER ?? 'cli')
    .option('--config <path>', 'cd4ml.yaml path in the repository', 'cd4ml.yaml')
    .option('--no-wait', 'start (or find) the build and return its id')
    .action(async (o) => {
      await buildImageAndFollow({
        project: o.project, repoUrl: o.repo, branch: o.branch, commit: o.commit, requestedBy: o.requestedBy, configPath: o.config,
      }, o.wait);
    });
}

/** Starts (or attaches to) an image build and, with `wait`, follows it; sets the exit code. */
export async function buildImageAndFollow(request: ImageRequestInput, wait: boolean): Promise<void> {
  // Loaded here, not at the top: registering commands stays cheap (see cli.ts).
  const [{ connectClient }, { startImageBuild }, { followRun }] = await Promise.all([
    import('../connection.ts'), import('../start-image.ts'), import('../watch-training.ts'),
  ]);
  const client = await connectClient();
  const { handle, attached, plan, workflowId } = await startImageBuild(client, request);
  console.log(`${attached ? 'attached to' : 'started'} ${workflowId}`);
  console.log(`  ${plan.image.repository}:${plan.contentHash} from ${plan.branch} ${plan.commit.slice(0, 10)} (builder ${plan.image.builder})`);
  if (!wait) return;
  const outcome = await followRun<ImageResult>(handle, ['resolve', 'image']);
  console.log(renderImageOutcome(outcome));
  process.exitCode = outcome.kind === 'completed' ? 0 : 1;
}

export function renderImageOutcome(outcome: RunOutcome<ImageResult>): string {
  if (outcome.kind === 'failed') return renderFailure(outcome);
  const r = outcome.result;
  return [
    r.built ? `BUILT: ${r.ref}` : `UP TO DATE: ${r.ref} was already in the registry; nothing built`,
    `digest: ${r.digest}`,
    `branch: ${r.branchRef}`,
  ].join('\n');
}
