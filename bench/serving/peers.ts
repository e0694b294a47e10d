// The servers the serving benchmark compares, each on free ports (other
// engineers' benchmarks may hold the usual ones), and the Python venvs of the
// Python peers. Adding a peer (e.g. cd4ml with a canary) is one entry in startPeers.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

export interface PeerSetup {
  store: string;
  model: string;
  fastapiPython: string;
  mlserverPython: string;
}

export async function startPeers(s: PeerSetup): Promise<Peer[]> {
  const [cd4mlRest, cd4mlGrpc, fastapi, bare, bareGrpc, mlRest, mlGrpc, mlMetrics] = await freePorts(8);
  const tsx = (...args: string[]): [string, string[]] => [process.execPath, ['--import', 'tsx', ...args]];
  const mlserver = path.join(path.dirname(s.mlserverPython), 'mlserver');
  return [
    {
      name: 'cd4ml', rest: `http://127.0.0.1:${cd4mlRest}`, grpc: `127.0.0.1:${cd4mlGrpc}`,
      proc: start('cd4ml', ...tsx('client/src/cli.ts', 'serve', '--store', s.store, '--project', 'penguins',
        '--port', String(cd4mlRest), '--grpc-port', String(cd4mlGrpc))),
    },
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
