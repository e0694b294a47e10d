import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { TrainingResult } from '@cd4ml/contracts';
import { startTraining } from '@cd4ml/client/start-training';
import { setNightlySchedule, runNightlyNow } from '@cd4ml/client/nightly-schedule';
import { Stack } from '../harness/stack.ts';

/** Debian's chromium (installed by scripts/bootstrap.sh). */
const CHROMIUM = process.env.CD4ML_CHROMIUM ?? '/usr/bin/chromium';

describe('runs as the Temporal Web UI shows them (real UI, real browser)', () => {
  let stack: Stack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await Stack.start({ ui: true });
    await stack.example.create();
    await stack.startControlWorker();
    await stack.startLocationWorker();
    // Root in CI: chromium's sandbox needs an unprivileged user.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** The text of a page and of all its frames, once it holds every one of `wanted`. */
  const textOf = async (p: Page, wanted: (string | RegExp)[], timeoutMs = 30_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parts = await Promise.all(p.frames().map((f) => f.locator('body').innerText({ timeout: 1000 }).catch(() => '')));
      const text = parts.join('\n');
      const missing = wanted.filter((w) => (typeof w === 'string' ? !text.includes(w) : !w.test(text)));
      if (missing.length === 0) return text;
      if (Date.now() > deadline) throw new Error(`the page never showed ${missing.map(String).join(', ')}; it shows:\n${text.slice(0, 4000)}`);
      await p.waitForTimeout(250);
    }
  };

  const page = async (route: string) => {
    const p = await browser.newPage();
    await p.goto(`${stack.uiUrl}/namespaces/default/${route}`);
    return p;
  };

  it('a training shows who asked and why, its stages with their times, and its result', async () => {
    const { handle } = await startTraining(stack.client, {
      project: 'penguins', repoUrl: stack.example.repoUrl, releaseTag: 'v1.0', location: 'local', requestedBy: 'alice', reason: 'first model',
    });
    const result = (await handle.result()) as TrainingResult;
    expect(result.decision).toBe('accepted');

    const p = await page(`workflows/${encodeURIComponent('train/penguins/v1.0')}`);
    await p.getByText('Completed').first().waitFor({ timeout: 30_000 });
    // The summary heads the page; details and current details (markdown) are under User Metadata, in sandboxed frames.
    await p.getByText('train penguins v1.0 on local').first().waitFor();
    await p.getByText('User Metadata').first().click();
    const text = await textOf(p, ['requested by alice: first model', 'stage: done']);
    for (const stage of ['resolve', 'checkout', 'dvc-pull', 'dvc-repro', 'evaluate', 'publish', 'stop-machine']) expect(text).toMatch(new RegExp(`${stage} \\(\\d+\\.\\d s\\)`));
    await p.close();
  });

  it('the workflow list filters trainings by a cd4ml search attribute', async () => {
    const query = encodeURIComponent('Cd4mlProject="penguins" AND Cd4mlDecision="accepted"');
    const p = await page(`workflows?query=${query}`);
    await p.getByText('train/penguins/v1.0').first().waitFor({ timeout: 30_000 });
    await p.close();
    const none = await page(`workflows?query=${encodeURIComponent('Cd4mlDecision="rejected"')}`);
    await textOf(none, [/No Workflows running|No results/i]);
    expect(await none.getByText('train/penguins/v1.0').count()).toBe(0);
    await none.close();
  });

  it('the nightly schedule and what its run found', async () => {
    await setNightlySchedule(stack.client, { project: 'penguins', repoUrl: stack.example.repoUrl });
    const id = await runNightlyNow(stack.client, 'penguins');
    await stack.client.workflow.getHandle(id).result();

    const schedules = await page('schedules');
    await schedules.getByText('nightly/penguins').first().waitFor({ timeout: 30_000 });
    await schedules.close();
    const run = await page(`workflows/${encodeURIComponent(id)}`);
    await run.getByText('Completed').first().waitFor({ timeout: 30_000 });
    await run.getByText('User Metadata').first().click();
    await textOf(run, [/nightly penguins\s*: no new data at [0-9a-f]{8} since v1\.0: nothing to train/]);
    await run.close();
  });
});
