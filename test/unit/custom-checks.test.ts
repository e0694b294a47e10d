import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CustomCheckConfig, type Check } from '@cd4ml/contracts';
import { runCustomChecks } from '@cd4ml/activities/gate/custom-checks';

// The project's own gate checks run as real processes (sh -c) in a scratch project folder.
describe('custom gate checks (real processes)', () => {
  let dir: string;
  const logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-checks-'));
    await writeFile(path.join(dir, 'fairness.py'), [
      'import json, sys',
      'gap = float(sys.argv[1])',
      'print("computing the gap between groups...")',
      'print(json.dumps({"passed": gap < 0.05, "detail": f"max group gap {gap}", "figures": {"gap": gap}}))',
    ].join('\n'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const run = (checks: { name: string; run: string; timeout?: string }[]): Promise<Check[]> =>
    new MockActivityEnvironment(undefined, { logger }).run(runCustomChecks, {
      checks: checks.map((c) => CustomCheckConfig.parse(c)), dir, checkout: dir, env: {},
    }) as Promise<Check[]>;

  it('reports each answer by name, with its detail and figures, after the output before it', async () => {
    const checks = await run([
      { name: 'fairness', run: 'python3 fairness.py 0.01' },
      { name: 'fairness-strict', run: 'python3 fairness.py 0.2' },
    ]);
    expect(checks).toEqual([
      { name: 'custom:fairness', passed: true, detail: 'max group gap 0.01 (gap 0.01)' },
      { name: 'custom:fairness-strict', passed: false, detail: 'max group gap 0.2 (gap 0.2)' },
    ]);
  });

  it('a check that crashes is a failed check with the tail of its output, and the next check still runs', async () => {
    const checks = await run([
      { name: 'crash', run: 'echo loading; echo "Traceback: KeyError: label" >&2; exit 3' },
      { name: 'ok', run: 'echo \'{"passed": true}\'' },
    ]);
    expect(checks[0]).toMatchObject({ name: 'custom:crash', passed: false });
    expect(checks[0]!.detail).toContain('exited with 3');
    expect(checks[0]!.detail).toContain('Traceback: KeyError: label');
    expect(checks[1]).toEqual({ name: 'custom:ok', passed: true, detail: 'passed' });
  });

  it('garbage, or JSON of the wrong shape, is a failed check saying what was expected', async () => {
    const [garbage, shape] = await run([
      { name: 'garbage', run: 'echo "all good!!"; echo "{not json"' },
      { name: 'shape', run: 'echo \'{"ok": "yes"}\'' },
    ]);
    expect(garbage).toMatchObject({ name: 'custom:garbage', passed: false });
    expect(garbage!.detail).toContain('printed no JSON answer');
    expect(garbage!.detail).toContain('all good!!');
    expect(shape).toMatchObject({ name: 'custom:shape', passed: false });
    expect(shape!.detail).toContain('passed: ');
  });

  it('a check may exit non-zero and still answer; one that outlives its timeout fails', async () => {
    const [answered, slow] = await run([
      { name: 'answered', run: 'echo \'{"passed": false, "detail": "drift 0.3"}\'; exit 1' },
      { name: 'slow', run: 'sleep 30', timeout: '1s' },
    ]);
    expect(answered).toEqual({ name: 'custom:answered', passed: false, detail: 'drift 0.3' });
    expect(slow).toMatchObject({ name: 'custom:slow', passed: false });
    expect(slow!.detail).toContain('did not finish within 1s');
  });
});
