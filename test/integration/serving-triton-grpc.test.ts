import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/paths.ts';
import { freePort } from '../harness/free-port.ts';
import { waitUntil } from '../harness/training-probes.ts';
import { TestStore, goodModel, smoke } from '../fixtures/serving/store.ts';

const PYTHON = path.join(REPO_ROOT, '.cd4ml/tools-venv/bin/python');
const CHECK = path.join(REPO_ROOT, 'test/fixtures/serving/triton_grpc_check.py');
const SMOKE = path.join(REPO_ROOT, 'test/fixtures/gate/smoke.json');

/** Triton's gRPC client (tritonclient[grpc], its defaults) against the real `cd4ml serve --grpc-port`. */
describe('cd4ml serve with Triton\'s gRPC client', () => {
  const store = new TestStore();
  let server: ChildProcess;
  let grpcAddress: string;
  let output = '';

  beforeAll(async () => {
    store.writeRelease('v1', goodModel());
    store.publish('v1');
    const [port, grpcPort] = [await freePort(), await freePort()];
    grpcAddress = `127.0.0.1:${grpcPort}`;
    server = spawn(process.execPath, ['--import', 'tsx', 'client/src/cli.ts', 'serve', '--store', store.dir, '--project', 'penguins',
      '--port', String(port), '--grpc-port', String(grpcPort)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d: Buffer) => (output += d));
    server.stderr!.on('data', (d: Buffer) => (output += d));
    await waitUntil('ready', async () => (await fetch(`http://127.0.0.1:${port}/v2/health/ready`)).ok, 60_000, async () => output.slice(-2000));
  });
  afterAll(() => {
    server?.kill('SIGKILL');
    store.remove();
  });

  it('health, metadata, smoke-set inference and bad input with the protocol\'s status codes', async () => {
    const r = await execa(PYTHON, [CHECK, grpcAddress, 'penguins', SMOKE], { reject: false });
    expect(r.exitCode, `${r.stderr}\nserver: ${output.slice(-2000)}`).toBe(0);
    const seen = JSON.parse(r.stdout);
    expect(seen).toMatchObject({ live: true, ready: true, model_ready: true, live_after: true });
    expect(seen.metadata).toMatchObject({ name: 'penguins', versions: ['v1'], inputs: [{ name: 'input', datatype: 'FP32', shape: ['-1', '4'] }] });
    const expected = smoke().expectedOutputs;
    expect(seen.infer.id).toBe('g-1');
    expect(seen.infer.label).toEqual(expected.find((o) => o.name === 'label')!.data);
    expect((seen.infer.probabilities as number[][]).flat().map((p) => Number(p.toFixed(4))))
      .toEqual((expected.find((o) => o.name === 'probabilities')!.data as number[]).map((p) => Number(p.toFixed(4))));
    expect(seen.bad_shape).toBe('StatusCode.INVALID_ARGUMENT');
    expect(seen.unknown_model).toBe('StatusCode.NOT_FOUND');
    expect(seen.unknown_version).toBe('StatusCode.NOT_FOUND');
  }, 60_000);
});
