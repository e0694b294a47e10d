import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/paths.ts';
import { freePort } from '../harness/free-port.ts';
import { waitUntil } from '../harness/training-probes.ts';
import { TestStore, goodModel, smoke } from '../fixtures/serving/store.ts';

const PYTHON = path.join(REPO_ROOT, '.cd4ml/tools-venv/bin/python');
const CHECK = path.join(REPO_ROOT, 'test/fixtures/serving/triton_client_check.py');
const SMOKE = path.join(REPO_ROOT, 'test/fixtures/gate/smoke.json');

/** Triton's own HTTP client (tritonclient[http], its defaults) against the real `cd4ml serve` process. */
describe('cd4ml serve with Triton\'s HTTP client', () => {
  const store = new TestStore();
  let server: ChildProcess;
  let hostPort: string;
  let output = '';

  beforeAll(async () => {
    store.writeRelease('v1', goodModel());
    store.publish('v1');
    const port = await freePort();
    hostPort = `127.0.0.1:${port}`;
    server = spawn(process.execPath, ['--import', 'tsx', 'client/src/cli.ts', 'serve', '--store', store.dir, '--project', 'penguins', '--port', String(port)], {
      cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (d: Buffer) => (output += d));
    server.stderr!.on('data', (d: Buffer) => (output += d));
    await waitUntil('ready', async () => (await fetch(`http://${hostPort}/v2/health/ready`)).ok, 60_000, async () => output.slice(-2000));
  });
  afterAll(() => {
    server?.kill('SIGKILL');
    store.remove();
  });

  it('health, metadata and inference (binary and JSON tensors) work as Triton\'s client expects', async () => {
    const r = await execa(PYTHON, [CHECK, hostPort, 'penguins', SMOKE], { reject: false });
    expect(r.exitCode, `${r.stderr}\nserver: ${output.slice(-2000)}`).toBe(0);
    const seen = JSON.parse(r.stdout);
    expect(seen).toMatchObject({ live: true, ready: true, model_ready: true, unknown_model_ready: false });
    expect(seen.server_extensions).toContain('binary_tensor_data');
    expect(seen.metadata).toMatchObject({
      name: 'penguins', versions: ['v1'],
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
    });
    expect(seen.metadata.outputs.map((o: { name: string }) => o.name).sort()).toEqual(['label', 'probabilities']);

    const expected = smoke().expectedOutputs;
    const label = expected.find((o) => o.name === 'label')!.data as number[];
    const probs = expected.find((o) => o.name === 'probabilities')!.data as number[];
    for (const [mode, id] of [['binary', 'tc-1'], ['json', 'tc-2'], ['mixed', 'tc-3']] as const) {
      const got = seen[mode];
      expect(got, mode).toMatchObject({ id, model_version: 'v1', label, label_dtype: 'int64' });
      expect((got.probabilities as number[][]).flat().map((p) => Number(p.toFixed(4))), mode)
        .toEqual(probs.map((p) => Number(p.toFixed(4))));
    }
    expect(seen.bad_shape_error.status).toBe('400');
    expect(seen.bad_shape_error.message).toMatch(/shape/);
  }, 60_000);
});
