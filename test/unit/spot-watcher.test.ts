import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpotWatcher, imdsEndpoint, IMDS_DEFAULT } from '../../activities/src/compute/ec2/interruption.ts';
import { FakeImds } from '../fakes/imds.ts';

/** The location worker's spot watch against the IMDSv2 fake (one per simulated instance). */
describe('SpotWatcher (IMDSv2 fake)', () => {
  let imds: FakeImds;
  beforeAll(async () => { imds = await FakeImds.start(); });
  afterAll(async () => imds?.stop());

  it('takes a token first, then reads instance-action and the rebalance recommendation with it; no notice, no interruption', async () => {
    imds.requests.length = 0;
    const w = new SpotWatcher(imds.endpoint);
    await w.look();
    await w.look();
    expect(imds.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'PUT /latest/api/token 200',
      'GET /latest/meta-data/spot/instance-action 404',
      'GET /latest/meta-data/events/recommendations/rebalance 404',
      // The token is reused until it nears its expiry.
      'GET /latest/meta-data/spot/instance-action 404',
      'GET /latest/meta-data/events/recommendations/rebalance 404',
    ]);
    expect(imds.requests.slice(1).every((r) => r.tokenValid)).toBe(true);
    expect(w.signal.aborted).toBe(false);
    expect(w.notice).toBeUndefined();
  });

  it('a rebalance recommendation alone is reported but is not an interruption', async () => {
    const other = await FakeImds.start();
    try {
      other.recommendRebalance();
      const w = new SpotWatcher(other.endpoint);
      await w.look();
      expect(w.state.rebalance).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(w.signal.aborted).toBe(false);
    } finally {
      await other.stop();
    }
  });

  it('an instance-action aborts the signal with the action and time EC2 gave', async () => {
    const other = await FakeImds.start();
    try {
      const logs: string[] = [];
      const w = new SpotWatcher(other.endpoint, { log: (m) => logs.push(m) });
      await w.look();
      expect(w.signal.aborted).toBe(false);
      other.interrupt('terminate', 120);
      const said = JSON.parse(other.metadata.get('spot/instance-action')!) as { time: string };
      await w.look();
      expect(w.signal.aborted).toBe(true);
      expect(w.signal.reason).toMatchObject({ action: 'terminate', time: said.time });
      expect(w.notice?.noticedAt).toBeGreaterThan(0);
      expect(logs.join('\n')).toContain(`EC2 will terminate this spot instance at ${said.time}`);
    } finally {
      await other.stop();
    }
  });

  it('a metadata service that stops answering is not an interruption (false alarm)', async () => {
    const other = await FakeImds.start();
    try {
      const w = new SpotWatcher(other.endpoint);
      await w.look();
      other.silent = true;
      for (let i = 0; i < 3; i++) await w.look();
      expect(w.state.unanswered).toBe(3);
      expect(w.signal.aborted).toBe(false);
      other.silent = false;
      await w.look();
      expect(w.state.unanswered).toBe(0);
      expect(w.signal.aborted).toBe(false);
    } finally {
      await other.stop();
    }
  });

  it('polls by itself once started, and stops looking after the notice', async () => {
    const other = await FakeImds.start();
    try {
      const w = new SpotWatcher(other.endpoint, { everyMs: 50 }).start();
      other.interrupt();
      await new Promise<void>((resolve) => w.signal.addEventListener('abort', () => resolve(), { once: true }));
      await w.stop();
      const seen = other.requests.length;
      await new Promise((r) => setTimeout(r, 200));
      expect(other.requests.length).toBe(seen);
    } finally {
      await other.stop();
    }
  });

  it('watches where the settings say, and by default only on an instance', () => {
    expect(imdsEndpoint({ CD4ML_IMDS_ENDPOINT: 'http://127.0.0.1:9/' })).toBe('http://127.0.0.1:9');
    expect(imdsEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:8' })).toBe('http://127.0.0.1:8');
    expect(imdsEndpoint({ CD4ML_WORKER_HOST: 'i-0abc123' })).toBe(IMDS_DEFAULT);
    expect(imdsEndpoint({ CD4ML_WORKER_HOST: 'laptop' })).toBeUndefined();
    expect(imdsEndpoint({})).toBeUndefined();
  });
});
