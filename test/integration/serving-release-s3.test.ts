import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { RolloutConfig } from '@cd4ml/contracts';
import { createS3Client, S3Store } from '@cd4ml/stores';
import { createModelRegistry } from '../../serving/src/model/registry.ts';
import { startServing, type Serving } from '../../serving/src/serve.ts';
import { promote } from '../../serving/src/channels/state.ts';
import { readServingState, updateServingState } from '../../serving/src/channels/store.ts';
import { Moto } from '../harness/moto.ts';
import { PassThrough } from '../harness/pass-through.ts';
import { freePort } from '../harness/free-port.ts';
import { REPO_ROOT } from '../harness/paths.ts';
import { waitUntil } from '../harness/training-probes.ts';
import { PROJECT, goodModel, manifestFor, publishTo, smoke, writeReleaseTo } from '../fixtures/serving/store.ts';

// Release channels on an S3 store (real moto_server): `cd4ml release` as a
// process moves two `cd4ml serve` replicas at once; and a store that stops
// answering mid-rollout pauses the rollout while live keeps serving.

const BUCKET = 'cd4ml-release-test';
const SWITCH_DEADLINE_MS = 2000;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

let moto: Moto;
let dir: string;

beforeAll(async () => {
  moto = await Moto.start();
  await createS3Client(moto.clientConfig()).send(new CreateBucketCommand({ Bucket: BUCKET }));
  dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-release-s3-'));
});
afterAll(async () => {
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const s3Store = (prefix: string, endpoint?: string): S3Store =>
  new S3Store(`s3://${BUCKET}/${prefix}`, { client: createS3Client(moto.clientConfig(endpoint)), cacheDir: path.join(dir, `cache-${prefix}`) });

/** One smoke row: faulty.onnx fails it (it runs on exactly 5 rows). */
const ONE_ROW = { name: 'input', datatype: 'FP32', shape: [1, 4], data: (smoke().inputs[0]!.data as number[]).slice(0, 4) };

/** What a replica serves: the live release it reports, and the version that answers an inference. */
async function served(base: string): Promise<string | null> {
  try {
    const res = await fetch(`${base}/v2/models/${PROJECT}/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [ONE_ROW] }),
    });
    return res.ok ? ((await res.json()) as { model_version: string }).model_version : null;
  } catch {
    return null;
  }
}

describe('release channels on an S3 store', () => {
  it('`cd4ml release promote` and `rollback` switch two `cd4ml serve` replicas within 2 s', async () => {
    const url = `s3://${BUCKET}/team`;
    const store = s3Store('team');
    await writeReleaseTo(store, 'v1', goodModel());
    await writeReleaseTo(store, 'v2', goodModel());
    await publishTo(store, 'v1');
    const env = { ...process.env, ...moto.env() };
    const replicas: { proc: ChildProcess; base: string; output: string[] }[] = [];
    try {
      for (let k = 0; k < 2; k++) {
        const port = await freePort();
        const output: string[] = [];
        const proc = spawn(process.execPath, ['--import', 'tsx', 'client/src/cli.ts', 'serve', '--store', url, '--project', PROJECT,
          '--port', String(port), '--workers', '1', '--cache', path.join(dir, `replica-${k}`)], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
        proc.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
        proc.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
        replicas.push({ proc, base: `http://127.0.0.1:${port}`, output });
      }
      for (const r of replicas) {
        await waitUntil('replica serves v1', async () => (await served(r.base)) === 'v1', 90_000, async () => r.output.join('').slice(-2000));
      }
      const cli = (...args: string[]) => execa(process.execPath, ['--import', 'tsx', 'client/src/cli.ts', 'release', ...args, '--store', url, '--project', PROJECT],
        { cwd: REPO_ROOT, env, reject: false });

      /** Runs the command, then polls both replicas until they serve `want`; the time from the command's exit. */
      const switchTo = async (want: string, ...args: string[]): Promise<number> => {
        const run = await cli(...args);
        expect(run.exitCode, run.stderr).toBe(0);
        const done = performance.now();
        const deadline = done + SWITCH_DEADLINE_MS;
        const at: number[] = [];
        for (const r of replicas) {
          while ((await served(r.base)) !== want) {
            if (performance.now() > deadline) throw new Error(`${r.base} did not serve ${want} within ${SWITCH_DEADLINE_MS} ms of \`release ${args.join(' ')}\`:\n${r.output.join('').slice(-2000)}`);
            await new Promise((res) => setTimeout(res, 20));
          }
          at.push(performance.now() - done);
        }
        const ms = Math.max(...at);
        console.log(`release ${args.join(' ')}: both replicas serve ${want} after ${at.map((t) => t.toFixed(0)).join(' and ')} ms (deadline ${SWITCH_DEADLINE_MS})`);
        return ms;
      };

      expect(await switchTo('v2', 'promote', 'v2')).toBeLessThan(SWITCH_DEADLINE_MS);
      expect(await switchTo('v1', 'rollback')).toBeLessThan(SWITCH_DEADLINE_MS);
      const status = await cli('status');
      expect(status.stdout).toMatch(/penguins: live v1\n/);
      expect(status.stdout).toMatch(/rollback v1 \(from v2\) by cli:.*: asked for on the command line/);
      const refused = await cli('promote', 'v7');
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toMatch(/penguins has no release v7 in s3:\/\/cd4ml-release-test\/team/);
      for (const r of replicas) expect(r.output.join('')).not.toContain(moto.env().AWS_SECRET_ACCESS_KEY);
    } finally {
      for (const r of replicas) r.proc.kill('SIGKILL');
    }
  });

  it('a store that stops answering mid-rollout: live keeps serving, the rollout pauses (metrics, metadata), and resumes after', async () => {
    let down = false;
    const proxy = await PassThrough.start(moto.endpoint, {
      intercept: () => (down ? { status: 503, contentType: 'application/xml', body: '<Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>' } : undefined),
    });
    const direct = s3Store('outage');
    await writeReleaseTo(direct, 'v1', goodModel());
    const faulty = await readFile(new URL('../fixtures/serving/faulty.onnx', import.meta.url));
    await writeReleaseTo(direct, 'v2', faulty, manifestFor('v2', faulty)); // on 5 rows it answers as good.onnx does
    await publishTo(direct, 'v1');
    let serving: Serving | undefined;
    try {
      const registry = await createModelRegistry({ store: s3Store('outage', proxy.url), project: PROJECT, pollIntervalMs: 100, workers: 1, logger: quiet });
      serving = await startServing({ store: 'unused', project: PROJECT, port: 0, handleSignals: false, logLevel: 'silent', registry });
      const rollout = RolloutConfig.parse({ steps: [50, 100], stepTime: '1h', minRequests: 10, maxP99Ms: 5000 });
      await updateServingState(direct, PROJECT, (s) => promote(s, 'v2', rollout, 'test'));
      await waitUntil('candidate loaded', async () => registry.rollout?.()?.loaded, 30_000);

      down = true;
      await waitUntil('rollout paused', async () => registry.rollout?.()?.paused, 60_000);
      const base = serving.url;
      // The faulty candidate fails its half; live answers those too, and no rollback can be written.
      for (let i = 0; i < 60; i++) expect(await served(base)).toBe('v1');
      const meta = (await (await fetch(`${base}/v2/models/${PROJECT}`)).json()) as { cd4ml: { live: string; rollout: { paused: string; figures: { errorRate: number } } } };
      expect(meta.cd4ml.live).toBe('v1');
      expect(meta.cd4ml.rollout.paused).toMatch(/^store unreadable, rollout paused: /);
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/cd4ml_rollout_paused\{model="penguins",version="v2"\} 1/);
      expect((await readServingState(direct, PROJECT)).state.candidate?.tag).toBe('v2'); // nothing decided while down

      down = false;
      const after = await waitUntil('rollback written once the store answers', async () => {
        const s = (await readServingState(direct, PROJECT)).state;
        return s.candidate === null ? s : null;
      }, 60_000);
      expect(after.history.at(-1)).toMatchObject({ action: 'rollback', tag: 'v2', reason: expect.stringMatching(/^error rate 1\.000 > maxErrorRate/) });
      expect(await (await fetch(`${base}/metrics`)).text()).not.toMatch(/cd4ml_rollout_paused\{[^}]*\} 1/);
    } finally {
      await serving?.shutdown();
      await proxy.stop();
    }
  });
});
