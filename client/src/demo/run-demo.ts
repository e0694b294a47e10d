import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import net from 'node:net';
import { Connection, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { SEARCH_ATTRIBUTES, cliType, temporalSettings, trainWorkflowId } from '@cd4ml/contracts';
import { connectClient } from '../connection.ts';
import { startTraining } from '../start-training.ts';
import { watchTraining } from '../watch-training.ts';
import { renderOutcome } from '../render.ts';
import { Background } from './background.ts';
import { DEFAULT_PORT } from './defaults.ts';
import { ExampleRepo, type ExampleName } from './example-repo.ts';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface DemoOptions {
  /** cd4ml's state folder; everything the demo makes lives under it. */
  home: string;
  temporalBin: string;
  venv: string;
  /** The dev server's port (this checkout's own server); the Web UI's. */
  port: number;
  uiPort: number;
  /** Which project under examples/ to train (default penguins). */
  example?: ExampleName;
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

/**
 * The dev server, with its SQLite file under .cd4ml/ so runs survive restarts.
 * Reused only when it is this checkout's own (pid file, port file, its db file);
 * a port taken by anything else, such as another clone's demo, stops the demo
 * instead of joining that server and its workers.
 */
async function ensureTemporal(bg: Background, opts: DemoOptions): Promise<{ address: string; uiPort: number }> {
  const ours = await ourServer(bg, opts.home);
  if (ours && (await answers(`localhost:${ours.port}`))) {
    say(`Temporal dev server at localhost:${ours.port} (already running)${ours.port !== opts.port ? `; "make stop" first to move it to :${opts.port}` : ''}`);
    return { address: `localhost:${ours.port}`, uiPort: ours.uiPort };
  }
  const address = `localhost:${opts.port}`;
  for (const port of [opts.port, opts.uiPort]) {
    if (await portInUse(port)) throw new Error(portTakenMessage(port, opts));
  }
  await bg.start('temporal', opts.temporalBin, [
    'server', 'start-dev', '--db-filename', dbFile(opts.home),
    '--port', String(opts.port), '--ui-port', String(opts.uiPort), '--log-level', 'warn',
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${cliType(type)}`]),
  ]);
  await writeFile(portFile(opts.home), `${opts.port} ${opts.uiPort}`);
  for (let i = 0; i < 150 && !(await answers(address)); i++) await sleep(200);
  if (!(await answers(address))) throw new Error(`the Temporal dev server did not come up; see ${bg.logFile('temporal')}`);
  say(`Temporal dev server started at ${address}, Web UI http://localhost:${opts.uiPort}`);
  if (opts.port !== DEFAULT_PORT) say(`for the CLI against this server: export TEMPORAL_ADDRESS=${address}`);
  return { address, uiPort: opts.uiPort };
}

export { DEFAULT_PORT };
const dbFile = (home: string) => path.join(home, 'temporal.db');
const portFile = (home: string) => path.join(home, 'run', 'temporal.port');

/** This checkout's server: its pid is alive and (where /proc tells) runs on this checkout's db file. */
async function ourServer(bg: Background, home: string): Promise<{ pid: number; port: number; uiPort: number } | null> {
  const pid = await bg.running('temporal');
  if (pid === null) return null;
  const [port = DEFAULT_PORT, uiPort = port + 1000] = (await readFile(portFile(home), 'utf8').catch(() => '')).trim().split(/\s+/).filter(Boolean).map(Number);
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
  if (cmdline !== null && !cmdline.includes(dbFile(home))) return null; // the pid was reused
  return { pid, port, uiPort };
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(true));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

function portTakenMessage(port: number, opts: DemoOptions): string {
  const next = opts.port + 10;
  return `port ${port} is in use, and not by this checkout's demo (its state is in ${opts.home}). ` +
    `Another clone's "make demo" may be running there: stop it in that clone ("make stop"), ` +
    `or run this demo on other ports: CD4ML_DEMO_PORT=${next} make demo (Web UI on ${next + 1000}).`;
}

/** The next v1.N that neither the server nor the store has seen, so a demo never collides with earlier runs. */
async function nextTag(client: Client, store: string, project: string, run: number): Promise<string> {
  for (let n = run - 1; ; n++) {
    const tag = `v1.${n}`;
    if (existsSync(path.join(store, project, tag))) continue;
    try {
      await client.workflow.getHandle(trainWorkflowId(project, tag)).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return tag;
      throw err;
    }
  }
}

/** Workers restart on every demo run, so they always run the code in this checkout. */
async function startWorkers(bg: Background, opts: DemoOptions, store: string, address: string): Promise<void> {
  const tsx = ['--import', 'tsx'];
  const env = { CD4ML_HOME: opts.home, CD4ML_VENV: opts.venv, CD4ML_STORE: store, TEMPORAL_ADDRESS: address };
  await Promise.all([bg.stop('control-worker'), bg.stop('location-worker')]);
  await bg.start('control-worker', process.execPath, [...tsx, path.join(REPO_ROOT, 'workers/src/control-worker.ts')], env);
  // The location worker asks the control worker whether the previous demo's location
  // worker is gone (its poll is still listed), so it starts once the control side polls.
  await bg.waitForLog('control-worker', /control worker: polling/, 120_000);
  await bg.start('location-worker', process.execPath, [
    ...tsx, path.join(REPO_ROOT, 'workers/src/location-worker.ts'), '--location', 'local',
    '--workdir', path.join(opts.home, 'locations', 'local'),
  ], env);
  await bg.waitForLog('location-worker', /location worker: polling/, 120_000);
  say('control worker (cd4ml-control) and location worker (cd4ml-location-local) running');
}

/**
 * `make demo`: a local Temporal, both workers, the example project in a local
 * git repository with a local DVC remote, and one training. Each further run
 * first adds a day of new data, like the nightly job, and gates against the
 * release before it.
 */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const bg = new Background(opts.home);
  const store = path.join(opts.home, 'releases');
  // penguins keeps the folders it always had, so an existing demo carries on.
  const name = opts.example ?? 'penguins';
  const example = new ExampleRepo(path.join(opts.home, 'demo', name === 'penguins' ? 'example' : name), opts.venv, { example: name });
  const counterFile = path.join(opts.home, 'demo', name === 'penguins' ? 'runs' : `runs-${name}`);

  const { address, uiPort } = await ensureTemporal(bg, opts);
  await startWorkers(bg, opts, store, address);
  const settings = { ...temporalSettings({}), address };

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

  const client = await connectClient(settings);
  const tag = await nextTag(client, store, name, run);
  const { handle } = await startTraining(client, {
    project: name, repoUrl: example.repoUrl, branch: 'main', releaseTag: tag,
    location: 'local', requestedBy: process.env.USER ?? 'demo', reason,
  });
  const id = trainWorkflowId(name, tag);
  say(`training ${id}: http://localhost:${uiPort}/namespaces/${settings.namespace}/workflows/${encodeURIComponent(id)}`);
  const outcome = await watchTraining(handle);
  console.log(renderOutcome(outcome, (key, s) => path.join(s, key)));
  if (outcome.kind === 'completed' && outcome.result.release) {
    const folder = path.join(outcome.result.release.store, outcome.result.release.key);
    say(`report: ${path.join(folder, 'report.md')}${existsSync(path.join(folder, 'plots')) ? ` (plots in ${path.join(folder, 'plots')})` : ''}`);
  }
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
