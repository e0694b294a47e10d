import type { Command } from 'commander';
import { ciContext } from '../ci-context.ts';
import { trainAndFollow } from './train.ts';
import { buildImageAndFollow } from './build-image.ts';

export function ciCommand(program: Command): void {
  program
    .command('ci')
    .description(
      'for a CI job on every push: does what the commit message asks ("trigger training <tag> [on <location>]", ' +
        '"build image") and follows it like train / build-image (exit 0 accepted or built, 3 rejected, 1 failed); ' +
        'exits 0 when the message asks for nothing. Reads the message, commit and branch from GitLab CI or GitHub Actions.',
    )
    .requiredOption('--repo <url>', 'git repository the workers fetch (not $CI_REPOSITORY_URL: it holds the job token)')
    .requiredOption('--project <name>', 'project name, as in its cd4ml.yaml')
    .option('--message <text>', 'commit message (default: $CI_COMMIT_MESSAGE, or the GitHub event\'s head commit)')
    .option('--commit <sha>', 'commit (default: $CI_COMMIT_SHA or $GITHUB_SHA)')
    .option('--branch <branch>', 'branch (default: $CI_COMMIT_BRANCH or the branch of $GITHUB_REF)')
    .option('--location <name>', 'location when the message names none', 'local')
    .option('--config <path>', 'cd4ml.yaml path in the repository', 'cd4ml.yaml')
    .option('--no-wait', 'start (or find) the run and return its id')
    .action(async (o) => {
      const { parseCommitCommand } = await import('@cd4ml/contracts');
      const ci = ciContext(process.env);
      const message: string = o.message ?? ci.message;
      const command = parseCommitCommand(message);
      if (!command) {
        console.log(`nothing to do: the commit message asks for no training or image build ("${message.split('\n', 1)[0]!.slice(0, 80)}")`);
        return;
      }
      const branch: string = o.branch ?? ci.branch ?? 'main';
      const commit: string | undefined = o.commit ?? ci.commit;
      const common = { project: o.project, repoUrl: o.repo, branch, commit, requestedBy: ci.requestedBy, configPath: o.config };
      if (command.kind === 'build-image') return buildImageAndFollow(common, o.wait);
      const reason = `ci ${commit?.slice(0, 8) ?? branch}: ${message.split('\n', 1)[0]!.trim()}`;
      if (command.kind === 'sweep') {
        const { sweepAndFollow } = await import('../sweep-follow.ts');
        return sweepAndFollow({ ...common, releaseTag: command.releaseTag, grid: command.grid, location: command.location ?? o.location, reason }, o.wait);
      }
      return trainAndFollow({ ...common, releaseTag: command.releaseTag, location: command.location ?? o.location, reason }, o.wait);
    });
}
