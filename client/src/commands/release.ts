import path from 'node:path';
import { Command } from 'commander';
import type { Common, RolloutFlags } from '../release/actions.ts';

// `cd4ml release list|promote|rollback|status`: the serving decision in the store
// (serving.json), which every `cd4ml serve` replica follows within a poll or two.
// The implementation (store, contracts, serving) loads in the action: registering stays cheap (see cli.ts).
const actions = () => import('../release/actions.ts');

export function releaseCommand(program: Command): void {
  const release = program.command('release').description('list releases and choose what `cd4ml serve` serves (serving.json in the store)');
  const common = (c: Command): Command => c
    .requiredOption('--store <folder|s3://bucket/prefix>', 'release store', process.env.CD4ML_STORE)
    .requiredOption('--project <name>', 'project')
    .option('--cache <folder>', 'where S3 downloads are kept', path.join(process.env.CD4ML_HOME ?? '.cd4ml', 'cache', 'stores'));

  common(release.command('list').description('tag, created, metric, gate decision and serving state of every release'))
    .action(async (o: Common) => (await actions()).listReleases(o));

  common(release.command('status').description('the live release, the rollout (step, figures against the limits) and the decisions, with why a rollback happened'))
    .option('--url <http://host:port>', 'also ask this `cd4ml serve` replica for its figures of the running step')
    .action(async (o: Common & { url?: string }) => (await actions()).showReleaseStatus(o));

  common(release.command('promote <tag>').description('serve <tag>: at once, or as a canary/shadow rollout (cd4ml.yaml serving.rollout or flags)'))
    .option('--config <cd4ml.yaml>', 'take serving.rollout from this file')
    .option('--mode <direct|canary|shadow>', 'how to roll out')
    .option('--steps <percents>', 'canary shares, e.g. 5,25,100 (must end at 100)')
    .option('--step-time <duration>', 'time per step, e.g. 10m')
    .option('--max-error-rate <0..1>', 'roll back above this error rate')
    .option('--max-p99-ms <ms>', 'roll back above this p99 latency')
    .option('--max-output-shift <0..1>', 'roll back above this output shift against live')
    .option('--min-requests <n>', 'requests needed before a step is judged')
    .option('--min-agreement <0..1>', 'shadow: agreement needed to promote')
    .action(async (tag: string, o: Common & RolloutFlags) => (await actions()).promoteRelease(tag, o));

  common(release.command('rollback').description('stop the running rollout, or go back to the previous live release'))
    .action(async (o: Common) => (await actions()).rollbackRelease(o));
}

/** `cd4ml release ...` as a program of its own (tests run it in process); throws instead of exiting. */
export function releaseProgram(): Command {
  const program = new Command('cd4ml').exitOverride();
  releaseCommand(program);
  return program;
}
