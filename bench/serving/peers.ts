// The servers the serving benchmark compares, each on free ports (other
// engineers' benchmarks may hold the usual ones), and the Python venvs of the
// Python peers. Adding a peer is one entry in startPeers.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../../test/harness/paths.ts';

export interface Peer {
  name: string;
  /** REST base URL, http://127.0.0.1:<port>. */
  rest: string;
  /** host:port of its OIP GRPCInferenceService, when it has one. */
  grpc?: string;
  proc: ChildProcess;
}

const HERE = path.join(REPO_ROOT, 'bench/serving');

/** n distinct ports nobody listens on now (the OS picks them; all held until all are picked). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  const ports = await Promise.all(servers.map((s) => new Promise<number>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port));
  })));
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/**
 * A venv with the example's onnxruntime and numpy pins plus a requirements
 * file (PyPI, the first time; pip is quick when all is installed).
 */
export async function ensureVenv(dir: string, requirements: string): Promise<string> {
  const python = path.join(dir, 'bin/python');
  if (!existsSync(python)) await execa('python3', ['-m', 'venv', dir]);
  const pins = readFileSync(path.join(REPO_ROOT, 'examples/penguins/requirements.txt'), 'utf8')
    .split('\n').filter((l) => /^(onnxruntime|numpy)==/.test(l));
  await execa(python, ['-m', 'pip', 'install', '-q', ...pins, '-r', path.join(HERE, requirements)]);
  return python;
}

function start(name: string, cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d).slice(-4000)));
  child.on('exit', (code) => code && code !== 143 && console.error(`${name} exited ${code}:\n${out.slice(-2000)}`));
  return child;
}

/**
 * The canary peer's store: a copy of the bench store with a second release
 * (v1.1, the same model under another tag) in a canary rollout held at 25%,
 * promoted with the real CLI. The step lasts a day, so it does not advance
 * during the bench, and the limits cannot be crossed, so it does not roll back.
 */
export async function canaryStore(store: string): Promise<string> {
  const dir = `${store}-canary`;
  await rm(dir, { recursive: true, force: true });
  await cp(store, dir, { recursive: true });
  await rm(path.join(dir, 'penguins/serving.json'), { force: true });
  await cp(path.join(dir, 'penguins/v1.0'), path.join(dir, 'penguins/v1.1'), { recursive: true });
  const manifest = path.join(dir, 'penguins/v1.1/release.json');
  await writeFile(manifest, JSON.stringify({ ...JSON.parse(await readFile(manifest, 'utf8')), tag: 'v1.1' }, null, 2));
  await execa(process.execPath, ['--import', 'tsx', 'client/src/cli.ts', 'release', 'promote', 'v1.1', '--store', dir, '--project', 'penguins',
    '--mode', 'canary', '--steps', `${CANARY_SHARE},100`, '--step-time', '24h',
    '--max-error-rate', '1', '--max-p99-ms', '1000000', '--max-output-shift', '1'], { cwd: REPO_ROOT });
  return dir;
}

/** The canary's share of requests, percent. */
export const CANARY_SHARE = 25;

export interface PeerSetup {
  store: string;
  /** canaryStore(store). */
  canaryStore: string;
  model: string;
  fastapiPython: string;
  mlserverPython: string;
}

export async function startPeers(s: PeerSetup): Promise<Peer[]> {
  const [cd4mlRest, cd4mlGrpc, canaryRest, canaryGrpc, fastapi, bare, bareGrpc, mlRest, mlGrpc, mlMetrics] = await freePorts(10);
  const tsx = (...args: string[]): [string, string[]] => [process.execPath, ['--import', 'tsx', ...args]];
  const mlserver = path.join(path.dirname(s.mlserverPython), 'mlserver');
  const cd4ml = (name: string, store: string, rest: number, grpc: number): Peer => ({
    name, rest: `http://127.0.0.1:${rest}`, grpc: `127.0.0.1:${grpc}`,
    proc: start(name, ...tsx('client/src/cli.ts', 'serve', '--store', store, '--project', 'penguins',
      '--port', String(rest), '--grpc-port', String(grpc))),
  });
  return [
    cd4ml('cd4ml', s.store, cd4mlRest!, cd4mlGrpc!),
    cd4ml('cd4ml-canary', s.canaryStore, canaryRest!, canaryGrpc!),
    {
      // MLServer as documented: `mlserver start <folder>`, settings from MLSERVER_* variables,
      // everything else (parallel_workers 1, metrics on, uvloop) at its defaults.
      name: 'mlserver', rest: `http://127.0.0.1:${mlRest}`, grpc: `127.0.0.1:${mlGrpc}`,
      proc: start('mlserver', mlserver, ['start', path.join(HERE, 'mlserver')], {
        MLSERVER_HOST: '127.0.0.1', MLSERVER_HTTP_PORT: String(mlRest), MLSERVER_GRPC_PORT: String(mlGrpc),
        MLSERVER_METRICS_PORT: String(mlMetrics), MLSERVER_MODEL_NAME: 'penguins',
        MLSERVER_MODEL_IMPLEMENTATION: 'onnx_runtime.OnnxRuntime', MLSERVER_MODEL_URI: s.model,
      }),
    },
    {
      name: 'fastapi', rest: `http://127.0.0.1:${fastapi}`,
      proc: start('fastapi', s.fastapiPython, [path.join(HERE, 'fastapi_server.py'), s.model, String(fastapi)]),
    },
    {
      name: 'bare', rest: `http://127.0.0.1:${bare}`, grpc: `127.0.0.1:${bareGrpc}`,
      proc: start('bare', ...tsx(path.join(HERE, 'bare-route.ts'), String(bare), String(bareGrpc))),
    },
  ];
}
