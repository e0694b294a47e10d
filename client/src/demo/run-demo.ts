import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { temporalSettings, trainWorkflowId } from '@cd4ml/contracts';
import { connectClient } from '../connection.ts';
import { startTraining } from '../start-training.ts';
import { watchTraining } from '../watch-training.ts';
import { renderOutcome } from '../render.ts';
import { Background } from './background.ts';
import { ExampleRepo } from './example-repo.ts';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface DemoOptions {
  /** cd4ml's state folder; everything the demo makes lives under it. */
  home: string;
  temporalBin: string;
  venv: string;
  uiPort: number;
}

const say = (line: string) => console.log(`[demo] ${line}`);

async function answers(address: string): Promise<boolean> {
  try {
    const c = await Connection.connect({ address, connectTimeout: '1s' });
    await c.close();
    return true;
  } catch {
    return false;
  }
}

/** The dev server, with its SQLite file under .cd4ml/ so runs survive restarts; reused when already up. */
async function ensureTemporal(bg: Background, opts: DemoOptions, address: string): Promise<void> {
  if (await answers(address)) {
    say(`Temporal at ${address} (already running)`);
    return;
  }
  const port = address.split(':').pop()!;
  await bg.start('temporal', opts.temporalBin, [
    'server', 'start-dev', '--db-filename', path.join(opts.home, 'temporal.db'),
    '--port', port, '--ui-port', String(opts.uiPort), '--log-level', 'warn',
  ]);
  for (let i = 0; i < 150 && !(await answers(address)); i++) await sleep(200);
  if (!(await answers(address))) throw new Error(`the Temporal dev server did not come up; see ${bg.logFile('temporal')}`);
  say(`Temporal dev server started at ${address}, Web UI http://localhost:${opts.uiPort}`);
}

/** Workers restart on every demo run, so they always run the code in this checkout. */
async function startWorkers(bg: Background, opts: DemoOptions, store: string): Promise<void> {
  const tsx = ['--import', 'tsx'];
  const env = { CD4ML_HOME: opts.home, CD4ML_VENV: opts.venv, CD4ML_STORE: store };
  await Promise.all([bg.stop('control-worker'), bg.stop('location-worker')]);
  await bg.start('control-worker', process.execPath, [...tsx, path.join(REPO_ROOT, 'workers/src/control-worker.ts')], env);
  await bg.start('location-worker', process.execPath, [
    ...tsx, path.join(REPO_ROOT, 'workers/src/location-worker.ts'), '--location', 'local',
    '--workdir', path.join(opts.home, 'locations', 'local'),
  ], env);
  await Promise.all([
    bg.waitForLog('control-worker', /control worker: polling/, 60_000),
    bg.waitForLog('location-worker', /location worker: polling/, 60_000),
  ]);
  say('control worker (cd4ml-control) and location worker (cd4ml-location-local) running');
}

/**
 * `make demo`: a local Temporal, both workers, the example project in a local
 * git repository with a local DVC remote, and one training. Each further run
 * first adds a day of new data, like the nightly job, and gates against the
 * release before it.
 */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const settings = temporalSettings();
  const bg = new Background(opts.home);
  const store = path.join(opts.home, 'releases');
  const example = new ExampleRepo(path.join(opts.home, 'demo', 'example'), opts.venv);
  const counterFile = path.join(opts.home, 'demo', 'runs');

  await ensureTemporal(bg, opts, settings.address);
  await startWorkers(bg, opts, store);

  let reason: string;
  if (!existsSync(path.join(example.repoUrl, 'HEAD'))) {
    await example.create();
    reason = 'demo: first training on days 1-6';
    say(`example project: ${example.repoUrl} (git), ${example.dvcRemote} (DVC remote)`);
  } else {
    const commit = await example.appendDay();
    reason = commit ? 'demo: retrain on a new day of data' : 'demo: retrain (no new data left)';
    say(commit ? `new data: committed the next day as ${commit.slice(0, 10)}` : 'all days already added: retraining the same data');
  }
  const run = Number((await readFile(counterFile, 'utf8').catch(() => '0')).trim()) + 1;
  await writeFile(counterFile, String(run));
  const tag = `v1.${run - 1}`;

  const client = await connectClient(settings);
  const { handle } = await startTraining(client, {
    project: 'penguins', repoUrl: example.repoUrl, branch: 'main', releaseTag: tag,
    location: 'local', requestedBy: process.env.USER ?? 'demo', reason,
  });
  const id = trainWorkflowId('penguins', tag);
  say(`training ${id}: http://localhost:${opts.uiPort}/namespaces/${settings.namespace}/workflows/${encodeURIComponent(id)}`);
  const outcome = await watchTraining(handle);
  console.log(renderOutcome(outcome, (key, s) => path.join(s, key)));
  say('the server and workers keep running for the Web UI; "make stop" stops them. Run "make demo" again to retrain on new data.');
  await client.connection.close();
  return outcome.kind === 'completed' ? 0 : 1;
}

export async function stopDemo(home: string): Promise<void> {
  const bg = new Background(home);
  for (const name of ['location-worker', 'control-worker', 'temporal']) {
    if (await bg.stop(name)) say(`stopped ${name}`);
  }
}
