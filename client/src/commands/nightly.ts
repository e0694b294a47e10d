import type { Command } from 'commander';
import type { ScheduleDescription } from '@temporalio/client';
import type { NightlyRequest, NightlyResult } from '@cd4ml/contracts';
import type { NightlyRun } from '../nightly-schedule.ts';
import { DEFAULT_NIGHTLY } from '../nightly-timing.ts';
import { renderFailure, renderOutcome } from '../render.ts';
import { exitCodeOf } from './exit-codes.ts';

// Loaded in the actions, not at the top: registering commands stays cheap (see cli.ts).
const load = async () => {
  const [{ connectClient }, schedule, { failureOutcome, watchTraining }, { nightlyScheduleId }] = await Promise.all([
    import('../connection.ts'), import('../nightly-schedule.ts'), import('../watch-training.ts'), import('@cd4ml/contracts'),
  ]);
  return { connectClient, ...schedule, failureOutcome, watchTraining, nightlyScheduleId };
};

export function nightlyCommand(program: Command): void {
  const nightly = program
    .command('nightly')
    .description(
      'the nightly schedule (nightly/<project>): retrains a branch when it holds DVC data the latest release was not ' +
        'trained on, as release nightly-<UTC time>; runs show in the Web UI under Schedules',
    );

  nightly
    .command('set')
    .description('create or update the schedule')
    .requiredOption('--repo <url>', 'git repository of the ML project')
    .requiredOption('--project <name>', 'project name, as in its cd4ml.yaml')
    .option('--branch <branch>', 'branch to retrain', 'main')
    .option('--location <name>', 'where to train, a location in cd4ml.yaml', 'local')
    .option('--config <path>', 'cd4ml.yaml path in the repository', 'cd4ml.yaml')
    .option('--cron <expr>', 'when, as a 5-field cron expression', DEFAULT_NIGHTLY.cron)
    .option('--timezone <tz>', 'IANA time zone of --cron', DEFAULT_NIGHTLY.timezone)
    .action(async (o) => {
      const { connectClient, setNightlySchedule, describeNightly } = await load();
      const client = await connectClient();
      const { scheduleId, created } = await setNightlySchedule(
        client,
        { project: o.project, repoUrl: o.repo, branch: o.branch, location: o.location, configPath: o.config },
        { cron: o.cron, timezone: o.timezone },
      );
      console.log(`${created ? 'created' : 'updated'} ${scheduleId}: "${o.cron}" (${o.timezone}), ${o.branch} on ${o.location}`);
      console.log(renderSchedule(await describeNightly(client, o.project)));
    });

  nightly
    .command('show')
    .description('the schedule, its next runs and its recent ones')
    .requiredOption('--project <name>', 'project name')
    .action(async (o) => {
      const { connectClient, describeNightly, recentNightlyRuns } = await load();
      const client = await connectClient();
      const schedule = await describeNightly(client, o.project);
      if (!schedule) {
        console.log(`no nightly schedule for ${o.project}: create it with "pnpm cd4ml nightly set --project ${o.project} --repo <url>"`);
        process.exitCode = 1;
        return;
      }
      console.log(renderSchedule(schedule, await recentNightlyRuns(client, schedule)));
    });

  nightly
    .command('run')
    .description('start a nightly run now and follow it: it trains only if there is new data (exit 0 nothing to train or accepted, 3 rejected, 1 failed)')
    .requiredOption('--project <name>', 'project name')
    .option('--no-wait', 'start the run and return its id')
    .action(async (o) => {
      const { connectClient, runNightlyNow, nightlyTraining, watchTraining, failureOutcome } = await load();
      const client = await connectClient();
      const workflowId = await runNightlyNow(client, o.project);
      console.log(`started ${workflowId}`);
      if (!o.wait) return;
      const training = await nightlyTraining(client, workflowId);
      if (training) {
        console.log(`new data: training ${training.workflowId}`);
        const outcome = await watchTraining(training);
        console.log(renderOutcome(outcome));
        process.exitCode = exitCodeOf(outcome);
        return;
      }
      try {
        console.log(((await client.workflow.getHandle(workflowId).result()) as NightlyResult).summary);
      } catch (err) {
        console.log(renderFailure(failureOutcome(err) as { message: string; type?: string }));
        process.exitCode = 1;
      }
    });

  nightly
    .command('remove')
    .description('delete the schedule (runs already started go on)')
    .requiredOption('--project <name>', 'project name')
    .action(async (o) => {
      const { connectClient, removeNightly, nightlyScheduleId } = await load();
      await removeNightly(await connectClient(), o.project);
      console.log(`removed ${nightlyScheduleId(o.project)}`);
    });
}

export function renderSchedule(s: ScheduleDescription | null, runs: NightlyRun[] = []): string {
  if (!s) return 'no schedule';
  const args = s.action.type === 'startWorkflow' ? (s.action.args?.[0] as NightlyRequest | undefined) : undefined;
  const lines = [
    // The server keeps a cron expression as calendar specs: the next run times say it plainly.
    `${s.scheduleId}: ${s.state.paused ? 'PAUSED' : 'active'}${s.spec.timezone ? `, time zone ${s.spec.timezone}` : ''}`,
    ...(args ? [`  retrains ${args.project} from ${args.repoUrl} ${args.branch} on ${args.location}`] : []),
    `  next: ${s.info.nextActionTimes.slice(0, 3).map((d) => d.toISOString()).join(', ') || 'none'}`,
    ...runs.map((r) => `  ran ${r.takenAt.toISOString()}: ${r.workflowId} ${r.status}${r.summary ? `: ${r.summary}` : ''}`),
  ];
  return lines.join('\n');
}
