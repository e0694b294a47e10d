import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/paths.ts';
import { freePort } from '../harness/free-port.ts';
import { waitUntil } from '../harness/training-probes.ts';
import { TestStore, goodModel, smoke } from '../fixtures/serving/store.ts';

/** `pnpm cd4ml serve` as users run it: its own process, real onnxruntime, real HTTP. */
describe('cd4ml serve (process, real HTTP, real releases)', () => {
  const store = new TestStore();
  let server: ChildProcess;
  let base: string;
  let output = '';

  const infer = async (version?: string) => {
    const input = smoke().inputs[0]!;
    const res = await fetch(`${base}/v2/models/penguins${version ? `/versions/${version}` : ''}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'r1', inputs: [input] }),
    });
    return { status: res.status, body: (await res.json()) as { model_version?: string; id?: string; outputs?: { name: string; data: number[] }[]; error?: string } };
  };

  beforeAll(async () => {
    store.writeRelease('v1', goodModel());
    store.publish('v1');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, ['--import', 'tsx', 'client/src/cli.ts', 'serve', '--store', store.dir, '--project', 'penguins', '--port', String(port)], {
      cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (d: Buffer) => (output += d));
    server.stderr!.on('data', (d: Buffer) => (output += d));
    await waitUntil('ready', async () => (await fetch(`${base}/v2/health/ready`)).ok, 60_000, async () => output.slice(-2000));
  });
  afterAll(() => {
    server?.kill('SIGKILL');
    store.remove();
  });

  it('serves the latest release: outputs equal its smoke expectations, the request id is echoed', async () => {
    const { status, body } = await infer();
    expect(status).toBe(200);
    expect(body.id).toBe('r1');
    expect(body.model_version).toBe('v1');
    const expected = smoke().expectedOutputs.find((o) => o.name === 'label')!;
    expect(body.outputs!.find((o) => o.name === 'label')!.data).toEqual(expected.data);
    const bad = await fetch(`${base}/v2/models/penguins/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs": [' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBeTruthy();
    expect((await infer()).status).toBe(200);
  });

  it('refuses a corrupted release and keeps serving the old one; swaps to a good one under load with no failed request', async () => {
    const corrupted = Buffer.from(goodModel());
    const good = goodModel();
    store.writeRelease('v2', good); // manifest of the good model...
    const { writeFileSync } = await import('node:fs');
    corrupted[corrupted.length - 10]! ^= 0xff;
    writeFileSync(`${store.dir}/penguins/v2/model.onnx`, corrupted); // ...but the bytes no longer match it
    store.publish('v2');
    const meta = await waitUntil('v2 refused', async () => {
      const m = (await (await fetch(`${base}/v2/models/penguins`)).json()) as { cd4ml?: { refused?: { version: string; reason: string }[] } };
      return m.cd4ml?.refused?.find((r) => r.version === 'v2');
    }, 30_000);
    expect(meta.reason).toMatch(/sha256/);
    expect((await infer()).body.model_version).toBe('v1');
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/cd4ml_release_refused_total\{[^}]*version="v2"[^}]*\} 1/);

    // Load while v3 is published: every request must succeed, on v1 then v3.
    let stop = false;
    const seen = new Set<string>();
    const failures: string[] = [];
    const client = async () => {
      while (!stop) {
        const r = await infer().catch((e: Error) => ({ status: 0, body: { error: e.message } as { error?: string; model_version?: string } }));
        if (r.status !== 200) failures.push(`${r.status} ${r.body.error}`);
        else seen.add(r.body.model_version!);
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await sleep(300);
    store.writeRelease('v3', good);
    store.publish('v3');
    await waitUntil('v3 served', async () => (await infer()).body.model_version === 'v3', 30_000);
    await sleep(300);
    stop = true;
    await Promise.all(clients);
    expect(failures).toEqual([]);
    expect([...seen].sort()).toEqual(['v1', 'v3']);
  });

  it('on SIGTERM drains: requests already in flight finish, new ones are refused cleanly, exit 0', async () => {
    const outcomes: { status: number | string; doneAt: number }[] = [];
    let stop = false;
    const client = async () => {
      while (!stop) {
        try {
          const r = await infer();
          outcomes.push({ status: r.status, doneAt: performance.now() });
          if (r.status !== 200) return;
        } catch (err) {
          // After the listener closes, connecting is refused: that is a clean "no", not a broken request.
          outcomes.push({ status: String((err as { cause?: { code?: string } }).cause?.code ?? err), doneAt: performance.now() });
          return;
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await sleep(300);
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    const signalledAt = performance.now();
    server.kill('SIGTERM');
    stop = true;
    await Promise.all(clients);
    expect(await exited).toBe(0);
    const broken = outcomes.filter((o) => ![200, 503, 'ECONNREFUSED'].includes(o.status as never));
    expect(broken).toEqual([]);
    // Requests that were in the server when the signal came still got their answers.
    expect(outcomes.filter((o) => o.status === 200 && o.doneAt > signalledAt).length).toBeGreaterThan(0);
  });
});
