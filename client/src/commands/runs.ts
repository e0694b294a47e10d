import type { Command } from 'commander';
import type { RunFilters } from '../runs/query.ts';
import { positiveInt } from './parse-options.ts';
import { RUNS_EXIT } from './exit-codes.ts';

export function runsCommand(program: Command): void {
  program
    .command('runs')
    .description('trainings, sweeps and image builds from Temporal visibility: state, decision, metric, duration, cost (newest first)')
    .option('--project <name>', 'only this project')
    .option('--location <name>', 'only trainings on this location')
    .option('--decision <decision>', 'only trainings that ended so: accepted, rejected, failed or cancelled')
    .option('--since <span>', 'only runs started within this span (30m, 12h, 7d, 2w) or since this date (2026-11-30)')
    .option('--kind <kind>', 'only train, sweep or image')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 50)
    .option('--json', 'one JSON object per line instead of the table')
    .action(async (opts: RunFilters & { limit: number; json?: boolean }) => {
      // Loaded here, not at the top: registering commands stays cheap (see cli.ts).
      const [{ connectClient }, { listRuns }, { runsQuery }, { renderRuns }] = await Promise.all([
        import('../connection.ts'), import('../runs/list-runs.ts'), import('../runs/query.ts'), import('../runs/render-runs.ts'),
      ]);
      try {
        runsQuery(opts); // bad filters are refused before connecting
      } catch (err) {
        console.error(`cd4ml runs: ${(err as Error).message}`);
        process.exitCode = RUNS_EXIT.badInput;
        return;
      }
      const client = await connectClient();
      try {
        const rows = await listRuns(client, opts, opts.limit);
        console.log(opts.json ? rows.map((r) => JSON.stringify(r)).join('\n') : renderRuns(rows));
      } finally {
        await client.connection.close();
      }
    });
}
